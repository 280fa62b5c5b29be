"""MongoPromptStore: the PromptStore port over the `prompts` collection.

Overrides are versioned documents:
    {name: "system" | "title", platform: "telegram" | ... | "all", version: int,
     content: str, active: bool}
"""

from __future__ import annotations

from typing import Any

import pymongo
from pymongo.database import Database

from chat_service.adapters.mongo.transactions import storage_errors


class MongoPromptStore:
    """Prompt overrides in the `prompts` collection (indexed by migration v0002)."""

    def __init__(self, database: Database[dict[str, Any]]) -> None:
        self._prompts = database["prompts"]

    def active(self, name: str, platform: str) -> str | None:
        """Returns the newest active content, None if there is none; StorageUnavailable."""
        with storage_errors():
            document = self._prompts.find_one(
                {"name": name, "platform": platform, "active": True},
                projection={"content": True},
                sort=[("version", pymongo.DESCENDING)],
            )
        content = None if document is None else document.get("content")
        return content if isinstance(content, str) and content.strip() else None
