"""RedisRateLimiter: the RateLimiter port as GCRA (a token bucket) in Redis, shared by every worker.

GCRA keeps one timestamp per bucket, the theoretical arrival time (TAT) of the next request:
a request is admitted unless it comes more than `burst` emission intervals before the TAT,
and admitting it moves the TAT one interval on. That is a token bucket holding `burst`
tokens, refilled at `rps` per second, with the exact wait (Retry-After) for free.

On one Redis server a request's buckets (its owner's and its address's) are checked and charged
by one script. On a Redis Cluster they are unrelated keys in different slots, which no one
script may touch: there the buckets are hit one after the other, each by the same script alone,
and when one refuses, those already charged get their admission back. A refused request thus
consumes nothing once its refunds are in; until then (a round trip) a concurrent request of
the same owner may find that bucket one admission fuller. An admitted request costs one round
trip per bucket there. Keys are `acai:ratelimit:v1:<bucket>` either way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis.asyncio.cluster

from chat_service.adapters.redis.client import REDIS_ERRORS, AsyncRedis
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
# KEYS: a bucket. ARGV: emission interval ms. Gives back one admission: moves the TAT one
# interval back (a bucket back at or before now is simply full again).
_REFUND = """
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
tat = tat - interval
if tat <= now then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now))
return 0
"""


class RedisRateLimiter:
    """GCRA in Redis, shared by every worker: one atomic script call per request on a server,
    one per bucket on a cluster; while Redis is unavailable, `fallback` (a per-process
    limiter) decides."""

    def __init__(
        self,
        client: AsyncRedis,
        *,
        rps: float,
        burst: int,
        availability: RedisAvailability,
        fallback: RateLimiter,
        prefix: str = "acai:ratelimit:v1:",
    ) -> None:
        self._script = client.register_script(_GCRA)
        self._refund = client.register_script(_REFUND)
        self._args = [1000 / rps, burst]
        self._one_script = not isinstance(client, redis.asyncio.cluster.RedisCluster)
        self._availability = availability
        self._fallback = fallback
        self._prefix = prefix

    async def hit(self, buckets: Sequence[str]) -> Decision:
        if not self._availability.usable:
            return await self._fallback.hit(buckets)
        keys = [self._prefix + bucket for bucket in buckets]
        try:
            if self._one_script:
                admitted, retry_ms, index = await self._script(keys=keys, args=self._args)
            else:
                admitted, retry_ms, index = await self._hit_each(keys)
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            return await self._fallback.hit(buckets)
        self._availability.succeeded()
        if admitted:
            return Decision(True)
        return Decision(False, int(retry_ms) / 1000, buckets[int(index) - 1])

    async def _hit_each(self, keys: list[str]) -> tuple[int, int, int]:
        """Hits the buckets in order, each alone; refunds the charged ones if one refuses."""
        for i, key in enumerate(keys):
            admitted, retry_ms, _ = await self._script(keys=[key], args=self._args)
            if not int(admitted):
                for charged in keys[:i]:
                    await self._refund(keys=[charged], args=[self._args[0]])
                return 0, int(retry_ms), i + 1
        return 1, 0, 0
