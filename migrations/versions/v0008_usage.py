"""The usage ledger: one document per language-model call in `usage`, read by owner and UTC day
(usage reports, owner budgets) and by API key and day (key budgets)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 8
NAME = "usage"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26
_INDEXES = ("owner_day", "key_id_day")


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the indexes (a no-op for those that exist)."""
    db.usage.create_index([("owner", ASCENDING), ("day", ASCENDING)], name="owner_day")
    db.usage.create_index([("key_id", ASCENDING), ("day", ASCENDING)], name="key_id_day")


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the indexes `up` creates; keeps the records."""
    for index in _INDEXES:
        try:
            db.usage.drop_index(index)
        except OperationFailure as exc:
            if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
                raise
