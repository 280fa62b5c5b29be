"""In-process TurnEventLog and TurnRecords: for one worker alone and for tests (the Redis and
MongoDB adapters pass the same contract tests)."""

from __future__ import annotations

import threading
import time

from chat_service.core.errors import StorageUnavailable
from chat_service.core.turn_events import TurnEvent
from chat_service.ports.turn_events import EndedTurn, EventLogUnavailable


class MemoryTurnEventLog:
    """Each turn's events in a list, at most `max_events` (the oldest give way); closed turns
    are forgotten when `forget` is called. Set `unavailable = True` to make every method raise
    EventLogUnavailable, as the Redis adapter does when the server is down."""

    def __init__(self, *, max_events: int = 10_000) -> None:
        self.unavailable = False
        self._max_events = max_events
        self._changed = threading.Condition()
        self._events: dict[str, list[TurnEvent]] = {}
        self._owners: dict[str, str] = {}
        self._stops: set[str] = set()
        self._running: dict[str, str] = {}  # conversation id -> turn id
        self.closed: set[str] = set()

    def begin(self, first: TurnEvent, *, owner: str, conversation_id: str) -> bool:
        with self._changed:
            self._check()
            self._owners[first.turn_id] = owner
            if conversation_id:
                self._running[conversation_id] = first.turn_id
        return self.append(first)

    def owner(self, turn_id: str) -> str | None:
        with self._changed:
            self._check()
            return self._owners.get(turn_id)

    def append(self, event: TurnEvent) -> bool:
        with self._changed:
            self._check()
            events = self._events.setdefault(event.turn_id, [])
            events.append(event)
            del events[: max(0, len(events) - self._max_events)]
            self._changed.notify_all()
            return event.turn_id in self._stops

    def close(self, turn_id: str, *, conversation_id: str) -> None:
        with self._changed:
            self._check()
            self.closed.add(turn_id)
            if self._running.get(conversation_id) == turn_id:
                del self._running[conversation_id]

    def forget(self, turn_id: str) -> None:
        """Drops the turn's copy, as its expiry does in Redis."""
        with self._changed:
            self._events.pop(turn_id, None)
            self._owners.pop(turn_id, None)

    def read_after(self, turn_id: str, after: int) -> list[TurnEvent]:
        with self._changed:
            self._check()
            return [e for e in self._events.get(turn_id, ()) if e.seq > after]

    def wait(self, turn_id: str, after: int, *, timeout_s: float) -> list[TurnEvent]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                self._check()
                found = [e for e in self._events.get(turn_id, ()) if e.seq > after]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    def running_turn(self, conversation_id: str) -> str | None:
        with self._changed:
            self._check()
            return self._running.get(conversation_id)

    def request_stop(self, turn_id: str) -> None:
        with self._changed:
            self._check()
            self._stops.add(turn_id)

    def _check(self) -> None:
        if self.unavailable:
            raise EventLogUnavailable("in-memory event log marked unavailable")


class MemoryTurnRecords:
    """Ended turns in a dict. Set `unavailable = True` to make them raise StorageUnavailable."""

    def __init__(self) -> None:
        self.unavailable = False
        self._lock = threading.Lock()
        self._records: dict[str, EndedTurn] = {}

    def save(self, ended: EndedTurn) -> None:
        with self._lock:
            self._check()
            self._records.setdefault(ended.terminal.turn_id, ended)

    def find(self, turn_id: str) -> EndedTurn | None:
        with self._lock:
            self._check()
            return self._records.get(turn_id)

    def _check(self) -> None:
        if self.unavailable:
            raise StorageUnavailable("in-memory turn records marked unavailable")
