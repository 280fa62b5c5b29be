"""RedisRateLimiter: the RateLimiter port as GCRA (a token bucket) in Redis, shared by every worker.

GCRA keeps one timestamp per bucket, the theoretical arrival time (TAT) of the next request:
a request is admitted unless it comes more than `burst` emission intervals before the TAT,
and admitting it moves the TAT one interval on. That is a token bucket holding `burst`
tokens, refilled at `rps` per second, with the exact wait (Retry-After) for free.

A request's buckets (its owner's and its address's) are unrelated keys, in different Redis
Cluster slots, so no one script may touch them all: each bucket is hit by its own script, all
at once, and when one refuses, the others are refunded. A refused request thus consumes
nothing once its refunds are in; until then (one round trip) a concurrent request of the same
owner may see that bucket one admission fuller. Keys stay `acai:ratelimit:v1:<bucket>`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from chat_service.adapters.redis.client import REDIS_ERRORS, AsyncRedis
from chat_service.core.availability import RedisAvailability
from chat_service.ports.rate_limiter import Decision, RateLimiter

logger = logging.getLogger(__name__)

# KEYS: a bucket. ARGV: emission interval ms, burst. Returns {admitted, retry after ms}.
# Redis's clock is the one clock of every worker.
_HIT = """
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local allow_at = tat + interval - interval * tonumber(ARGV[2])
if now < allow_at then return {0, math.ceil(allow_at - now)} end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now))
return {1, 0}
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
    """GCRA in Redis, shared by every worker: one script call per bucket, sent together, each
    atomic; while Redis is unavailable, `fallback` (a per-process limiter) decides."""

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
        self._hit = client.register_script(_HIT)
        self._refund = client.register_script(_REFUND)
        self._interval_ms = 1000 / rps
        self._burst = burst
        self._availability = availability
        self._fallback = fallback
        self._prefix = prefix

    async def hit(self, buckets: Sequence[str]) -> Decision:
        if not self._availability.usable:
            return await self._fallback.hit(buckets)
        keys = [self._prefix + bucket for bucket in buckets]
        try:
            answers = await asyncio.gather(
                *(self._hit(keys=[key], args=[self._interval_ms, self._burst]) for key in keys)
            )
            refused = [i for i, (admitted, _) in enumerate(answers) if not int(admitted)]
            if refused:
                admitted_keys = [key for i, key in enumerate(keys) if i not in refused]
                await asyncio.gather(
                    *(self._refund(keys=[key], args=[self._interval_ms]) for key in admitted_keys)
                )
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            return await self._fallback.hit(buckets)
        self._availability.succeeded()
        if not refused:
            return Decision(True)
        first = refused[0]
        return Decision(False, int(answers[first][1]) / 1000, buckets[first])
