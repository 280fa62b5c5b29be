"""MemoryAuthFailureLimiter: the AuthFailureLimiter port in this process's memory (see the
port for the algorithm); the fallback while Redis is down."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable


class MemoryAuthFailureLimiter:
    """Failed authentications per address in this process's memory. Keeps at most
    `max_addresses` buckets, dropping the least recently charged (a dropped one is full)."""

    def __init__(
        self,
        *,
        limit: int,
        window_s: float,
        max_addresses: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval_s = window_s / limit
        self._tolerance_s = window_s
        self._max_addresses = max_addresses
        self._clock = clock
        self._tats: collections.OrderedDict[str, float] = collections.OrderedDict()

    async def retry_after_s(self, address: str) -> float:
        now = self._clock()
        tat = max(self._tats.get(address, now), now)
        return max(0.0, tat + self._interval_s - self._tolerance_s - now)

    async def record_failure(self, address: str) -> None:
        now = self._clock()
        self._tats[address] = max(self._tats.get(address, now), now) + self._interval_s
        self._tats.move_to_end(address)
        while len(self._tats) > self._max_addresses:
            self._tats.popitem(last=False)
