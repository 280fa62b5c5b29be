"""The `sessions` collection: expired sessions are removed by a TTL index on `expires_at`."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 3
NAME = "sessions"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the TTL index (a no-op if it exists)."""
    db.sessions.create_index(
        [("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0
    )


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the TTL index; keeps the sessions."""
    try:
        db.sessions.drop_index("expires_at_ttl")
    except OperationFailure as exc:
        if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
            raise
