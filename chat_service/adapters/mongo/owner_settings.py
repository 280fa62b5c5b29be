"""MongoOwnerSettingsStore: the OwnerSettingsStore port over the `owner_settings` collection.

One document per owner: {_id: owner, instructions, updated_at}; `_id` is its only index, so
it needs no migration.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from chat_service.adapters.mongo.documents import Document
from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.timestamps import to_stored


class MongoOwnerSettingsStore:
    """Owners' settings in `owner_settings`, keyed by the owner."""

    def __init__(self, database: Database[Document]) -> None:
        self._settings = database["owner_settings"]

    def instructions(self, owner: str) -> str:
        """Returns the owner's default instructions ("" when none)."""
        with storage_errors():
            document = self._settings.find_one({"_id": owner}, {"instructions": True})
        return "" if document is None else str(document.get("instructions", ""))

    def set_instructions(self, owner: str, instructions: str, *, now: datetime) -> None:
        """Sets (or, for "", removes) the owner's default instructions."""
        change: Document = {"$set": {"updated_at": to_stored(now)}}
        if instructions:
            change["$set"]["instructions"] = instructions
        else:
            change["$unset"] = {"instructions": ""}
        with storage_errors():
            self._settings.update_one({"_id": owner}, change, upsert=True)
