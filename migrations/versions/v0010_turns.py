"""The `turns` collection: each ended streamed turn's owner and terminal event, so a resume
answers it after the event log forgot the turn; records expire 7 days after the turn ended
(TTL index). `_id` is the turn id."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 10
NAME = "turns"
TTL_S = 7 * 24 * 3600

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the TTL index (a no-op if it exists)."""
    db.turns.create_index([("ended_at", ASCENDING)], name="ended_at_ttl", expireAfterSeconds=TTL_S)


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the TTL index; keeps the records."""
    try:
        db.turns.drop_index("ended_at_ttl")
    except OperationFailure as exc:
        if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
            raise
