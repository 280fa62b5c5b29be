"""The `turn_locks` collection (turn leases while Redis is down): a TTL index on `expires_at`."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 4
NAME = "turn_locks"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the TTL index (a no-op if it exists)."""
    db.turn_locks.create_index(
        [("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0
    )


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the TTL index; keeps the leases."""
    try:
        db.turn_locks.drop_index("expires_at_ttl")
    except OperationFailure as exc:
        if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
            raise
