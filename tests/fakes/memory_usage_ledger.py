"""InMemoryUsageLedger: a thread-safe fake of the UsageLedger port (the Mongo one's semantics)."""

from __future__ import annotations

import itertools
import threading
from datetime import date

from chat_service.core.usage import UsageRecord


class InMemoryUsageLedger:
    """Usage records in a dict behind one lock; ids are increasing decimal strings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.entries: dict[str, UsageRecord] = {}

    def add(self, record: UsageRecord) -> str:
        with self._lock:
            record_id = str(next(self._ids))
            self.entries[record_id] = record
            return record_id

    def settle(self, record_id: str, record: UsageRecord) -> None:
        with self._lock:
            self.entries[record_id] = record

    def discard(self, record_id: str, *, owner: str) -> None:
        with self._lock:
            record = self.entries.get(record_id)
            if record is not None and record.pending and record.owner == owner:
                del self.entries[record_id]

    def spent_usd(self, *, owner: str, key_id: str, first_day: date, last_day: date) -> float:
        with self._lock:
            return sum(
                r.call.cost_usd
                for r in self.entries.values()
                if r.owner == owner
                and (not key_id or r.key_id == key_id)
                and first_day <= r.at.date() <= last_day
            )

    def records(self, *, owner: str, first_day: date, last_day: date) -> list[UsageRecord]:
        with self._lock:
            return [
                r
                for r in self.entries.values()
                if r.owner == owner and not r.pending and first_day <= r.at.date() <= last_day
            ]
