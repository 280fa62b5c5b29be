"""FakeClock: the one clock of the tests, which moves only when the test moves it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

START = datetime(2026, 1, 1, tzinfo=UTC)
MONOTONIC_START = 1000.0  # an arbitrary origin, as time.monotonic's is


class FakeClock:
    """One instant, read in the two forms the service's clocks take: pass `clock.monotonic`
    where the code takes seconds (`Callable[[], float]`: breakers, rate limits, TTL caches) and
    `clock.wall` where it takes an aware UTC datetime (records, sessions, leases).

    The instant stands still until `advance()` moves it; with a `step`, every reading first
    moves it by that step, so no two readings are equal.
    """

    def __init__(self, start: datetime = START, *, step: timedelta = timedelta(0)) -> None:
        self._start = start
        self._now = start
        self._step = step
        self._lock = threading.Lock()

    def wall(self) -> datetime:
        with self._lock:
            self._now += self._step
            return self._now

    def monotonic(self) -> float:
        return MONOTONIC_START + (self.wall() - self._start).total_seconds()

    def advance(self, by: float | timedelta) -> None:
        """Moves the clock on by `by` (seconds, or a timedelta)."""
        with self._lock:
            self._now += by if isinstance(by, timedelta) else timedelta(seconds=by)
