"""Rate limiters: GCRA (a token bucket) in Redis, shared by every worker, and in process memory.

GCRA keeps one timestamp per bucket, the theoretical arrival time (TAT) of the next request:
a request is admitted unless it comes more than `burst` emission intervals before the TAT,
and admitting it moves the TAT one interval on. That is a token bucket holding `burst`
tokens, refilled at `rps` per second, with the exact wait (Retry-After) for free.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis
import redis.asyncio

from chat_service.redis_availability import RedisAvailability

logger = logging.getLogger(__name__)

# KEYS: buckets. ARGV: emission interval ms, burst. Returns {admitted, retry after ms, index
# of the refusing bucket (1-based, 0 if admitted)}. All buckets are checked first, so a refused
# request consumes nothing. Redis's clock is the one clock of every worker.
_GCRA = """
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local tats = {}
for i, key in ipairs(KEYS) do
  local tat = math.max(tonumber(redis.call('GET', key) or now), now)
  local allow_at = tat + interval - tolerance
  if now < allow_at then return {0, math.ceil(allow_at - now), i} end
  tats[i] = tat + interval
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tostring(tats[i]), 'PX', math.ceil(tats[i] - now))
end
return {1, 0, 0}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may go on; if not, which bucket refused and when to retry."""

    admitted: bool
    retry_after_s: float = 0.0
    bucket: str = ""


class RateLimiter(Protocol):
    """Admits a request only if every one of its buckets has room; consumes from all of them."""

    async def hit(self, buckets: Sequence[str]) -> Decision:
        """Returns the decision for one request counted against `buckets`."""
        ...


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


class RedisRateLimiter:
    """GCRA in Redis: one script call per request, atomic across every worker; while Redis is
    unavailable, `fallback` (a per-process limiter) decides."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        rps: float,
        burst: int,
        availability: RedisAvailability,
        fallback: RateLimiter,
        prefix: str = "acai:ratelimit:v1:",
    ) -> None:
        self._script = client.register_script(_GCRA)
        self._args = [1000 / rps, burst]
        self._availability = availability
        self._fallback = fallback
        self._prefix = prefix

    async def hit(self, buckets: Sequence[str]) -> Decision:
        if not self._availability.usable:
            return await self._fallback.hit(buckets)
        try:
            admitted, retry_ms, index = await self._script(
                keys=[self._prefix + bucket for bucket in buckets], args=self._args
            )
        except redis.RedisError as exc:
            self._availability.failed(exc)
            return await self._fallback.hit(buckets)
        self._availability.succeeded()
        if admitted:
            return Decision(True)
        return Decision(False, int(retry_ms) / 1000, buckets[int(index) - 1])


def retry_after_header(seconds: float) -> str:
    """Returns a Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
