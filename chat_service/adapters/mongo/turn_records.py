"""MongoTurnRecords: the TurnRecords port over the `turns` collection.

turns: {_id: turn id, owner, event: the terminal event (chat_service.core.turn_events JSON),
        ended_at} — expires by the TTL index of migration v0010.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.database import Database

from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.timestamps import to_stored
from chat_service.core.turn_events import decode_event, encode_event
from chat_service.ports.turn_events import EndedTurn


class MongoTurnRecords:
    """Ended turns in `turns`, one document per turn."""

    def __init__(
        self, database: Database[dict[str, Any]], *, clock: Callable[[], datetime]
    ) -> None:
        self._turns = database["turns"]
        self._clock = clock

    def save(self, ended: EndedTurn) -> None:
        """Upserts the record (a repeat changes nothing); raises StorageUnavailable."""
        event = ended.terminal
        with storage_errors():
            self._turns.update_one(
                {"_id": event.turn_id},
                {
                    "$setOnInsert": {
                        "owner": ended.owner,
                        "event": encode_event(event),
                        "ended_at": to_stored(self._clock()),
                    }
                },
                upsert=True,
            )

    def find(self, turn_id: str) -> EndedTurn | None:
        """Returns the record of `turn_id`, None if there is none; raises StorageUnavailable."""
        with storage_errors():
            document = self._turns.find_one({"_id": turn_id})
        if document is None:
            return None
        return EndedTurn(str(document["owner"]), decode_event(document["event"]))
