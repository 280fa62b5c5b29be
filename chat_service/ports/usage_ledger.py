"""The UsageLedger port: one record per language-model call, the truth behind usage and budgets."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from chat_service.core.usage import UsageRecord


class UsageLedger(Protocol):
    """Usage records by owner and UTC day. Raises StorageUnavailable when the store is down."""

    def add(self, record: UsageRecord) -> str:
        """Stores `record` (pending or final); returns its id."""
        ...

    def settle(self, record_id: str, record: UsageRecord) -> None:
        """Replaces the pending record `record_id` (of `record.owner`) by the final `record`."""
        ...

    def discard(self, record_id: str, *, owner: str) -> None:
        """Removes `owner`'s pending record `record_id` (its call failed or was refused)."""
        ...

    def spent_usd(self, *, owner: str, key_id: str, first_day: date, last_day: date) -> float:
        """Returns the cost of the records from `first_day` to `last_day` (inclusive) of
        `owner`, only those of API key `key_id` when it is not empty; pending records count
        at their reserved cost."""
        ...

    def records(self, *, owner: str, first_day: date, last_day: date) -> list[UsageRecord]:
        """Returns the owner's final records from `first_day` to `last_day` (inclusive)."""
        ...
