"""Indexes that let DeleteConversation find what names a conversation without a scan: the
sessions on it and the idempotency records of its turns.

Deleted conversations leave a tombstone in `deleted_conversations` ({_id, owner, deleted_at}),
so that deleting twice is not an error; `_id` is its only index.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 7
NAME = "conversation_deletion"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26
_INDEXES = (("sessions", "conversation_id"), ("idempotency_keys", "outcome_conversation_id"))


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the indexes (a no-op for those that exist)."""
    db.sessions.create_index([("conversation_id", ASCENDING)], name="conversation_id")
    db.idempotency_keys.create_index(
        [("outcome.conversation_id", ASCENDING)], name="outcome_conversation_id"
    )


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the indexes `up` creates; keeps the tombstones."""
    for collection, index in _INDEXES:
        try:
            db[collection].drop_index(index)
        except OperationFailure as exc:
            if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
                raise
