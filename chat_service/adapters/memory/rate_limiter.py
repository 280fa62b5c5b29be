"""MemoryRateLimiter: the RateLimiter port as GCRA in this process's memory (see the Redis
adapter for the algorithm); the fallback while Redis is down."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Sequence

from chat_service.ports.rate_limiter import Decision


class MemoryRateLimiter:
    """GCRA in this process's memory: the fallback while Redis is down. Keeps at most
    `max_buckets` buckets, dropping the least recently used (a dropped bucket is full)."""

    def __init__(
        self,
        *,
        rps: float,
        burst: int,
        max_buckets: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval_s = 1 / rps
        self._tolerance_s = self._interval_s * burst
        self._max_buckets = max_buckets
        self._clock = clock
        self._tats: collections.OrderedDict[str, float] = collections.OrderedDict()

    async def hit(self, buckets: Sequence[str]) -> Decision:
        return self.hit_now(buckets)

    def hit_now(self, buckets: Sequence[str]) -> Decision:
        """The synchronous `hit` (the event loop's thread is the only caller)."""
        now = self._clock()
        new_tats = []
        for bucket in buckets:
            tat = max(self._tats.get(bucket, now), now)
            allow_at = tat + self._interval_s - self._tolerance_s
            if now < allow_at:
                return Decision(False, allow_at - now, bucket)
            new_tats.append(tat + self._interval_s)
        for bucket, tat in zip(buckets, new_tats, strict=True):
            self._tats[bucket] = tat
            self._tats.move_to_end(bucket)
        while len(self._tats) > self._max_buckets:
            self._tats.popitem(last=False)
        return Decision(True)
