"""Budgets per owner and per API key in `budgets` ({_id: "owner:<owner>" | "key:<key id>", ...}):
a turn reads its two by `_id`; the keys CLI lists an owner's by `owner`."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

VERSION = 9
NAME = "budgets"

_INDEX_NOT_FOUND = 27
_NAMESPACE_NOT_FOUND = 26


def up(db: Database[dict[str, Any]]) -> None:
    """Creates the index (a no-op when it exists)."""
    db.budgets.create_index([("owner", ASCENDING)], name="owner")


def down(db: Database[dict[str, Any]]) -> None:
    """Drops the index `up` creates; keeps the budgets."""
    try:
        db.budgets.drop_index("owner")
    except OperationFailure as exc:
        if exc.code not in (_INDEX_NOT_FOUND, _NAMESPACE_NOT_FOUND):
            raise
