"""The `api_keys` collection's indexes: revoking by key id, listing by owner, finding active keys.

Keys are stored by their SHA-256 digest as `_id`, so the lookup on every request needs no
index of its own.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 6
NAME = "api_keys"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26
_INDEXES = ("key_id", "owner_created_at", "revoked_at")


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the indexes (a no-op for those that exist)."""
    db.api_keys.create_index([("key_id", ASCENDING)], name="key_id", unique=True)
    db.api_keys.create_index(
        [("owner", ASCENDING), ("created_at", ASCENDING)], name="owner_created_at"
    )
    db.api_keys.create_index([("revoked_at", ASCENDING)], name="revoked_at")


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the indexes `up` creates; keeps the keys."""
    for index in _INDEXES:
        try:
            db.api_keys.drop_index(index)
        except OperationFailure as exc:
            if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
                raise
