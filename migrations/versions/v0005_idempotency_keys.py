"""The `idempotency_keys` collection: records expire 24 h after the first request (TTL index)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 5
NAME = "idempotency_keys"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the TTL index (a no-op if it exists)."""
    db.idempotency_keys.create_index(
        [("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0
    )


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the TTL index; keeps the records."""
    try:
        db.idempotency_keys.drop_index("expires_at_ttl")
    except OperationFailure as exc:
        if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
            raise
