"""RedisRateLimiter: the RateLimiter port as GCRA (a token bucket) in Redis, shared by every worker.

GCRA keeps one timestamp per bucket, the theoretical arrival time (TAT) of the next request:
a request is admitted unless it comes more than `burst` emission intervals before the TAT,
and admitting it moves the TAT one interval on. That is a token bucket holding `burst`
tokens, refilled at `rps` per second, with the exact wait (Retry-After) for free.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis
import redis.asyncio

from chat_service.core.availability import RedisAvailability
from chat_service.ports.rate_limiter import Decision, RateLimiter

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
