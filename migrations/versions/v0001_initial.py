"""The first indexes: listing an owner's conversations, finding a chat's, ordering messages."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 1
NAME = "initial"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the indexes (a no-op for those that exist)."""
    db.conversations.create_index(
        [("owner", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="owner_created_at_id",
    )
    db.conversations.create_index(
        [("platform", ASCENDING), ("chat_id", ASCENDING)], name="platform_chat_id"
    )
    # Unique: two writers can never store the same seq of a conversation.
    db.messages.create_index(
        [("conversation_id", ASCENDING), ("seq", ASCENDING)],
        name="conversation_id_seq",
        unique=True,
    )


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the indexes `up` creates (a no-op for those already gone); keeps the data."""
    for collection, index in (
        ("conversations", "owner_created_at_id"),
        ("conversations", "platform_chat_id"),
        ("messages", "conversation_id_seq"),
    ):
        try:
            db[collection].drop_index(index)
        except OperationFailure as exc:
            if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
                raise
