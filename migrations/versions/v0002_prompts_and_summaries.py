"""Prompt overrides (`prompts`) and conversation summaries (`summaries`): their indexes."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 2
NAME = "prompts_and_summaries"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the indexes (a no-op for those that exist)."""
    # One document per (name, platform, version); the service reads the highest active one.
    db.prompts.create_index(
        [("name", ASCENDING), ("platform", ASCENDING), ("version", DESCENDING)],
        name="name_platform_version",
        unique=True,
    )
    # The latest summary of a conversation: the one with the highest end_seq.
    db.summaries.create_index(
        [("conversation_id", ASCENDING), ("end_seq", DESCENDING)],
        name="conversation_id_end_seq",
        unique=True,
    )


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the indexes `up` creates; keeps the documents."""
    for collection, index in (
        ("prompts", "name_platform_version"),
        ("summaries", "conversation_id_end_seq"),
    ):
        try:
            db[collection].drop_index(index)
        except OperationFailure as exc:
            if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
                raise
