"""RedisAuthFailureLimiter: the AuthFailureLimiter port in Redis, shared by every worker (see
the port for the algorithm)."""

from __future__ import annotations

from chat_service.adapters.redis.client import REDIS_ERRORS, AsyncRedis
from chat_service.core.availability import RedisAvailability
from chat_service.ports.auth_failures import AuthFailureLimiter

# KEYS: the bucket. ARGV: emission interval ms, limit. Returns the ms until the address may
# try again, 0 if it may now. Redis's clock is the one clock of every worker.
_CHECK = """
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local allow_at = tat + interval - interval * tonumber(ARGV[2])
if now < allow_at then return math.ceil(allow_at - now) end
return 0
"""

# KEYS: the bucket. ARGV: emission interval ms. Moves the bucket's TAT one interval on.
_CHARGE = """
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now) + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now))
return 0
"""


class RedisAuthFailureLimiter:
    """The limit in Redis, shared by every worker (one script call per check and per failure);
    while Redis is unavailable, `fallback` (a per-process limiter) counts."""

    def __init__(
        self,
        client: AsyncRedis,
        *,
        limit: int,
        window_s: float,
        availability: RedisAvailability,
        fallback: AuthFailureLimiter,
        prefix: str = "acai:authfail:v1:",
    ) -> None:
        self._check = client.register_script(_CHECK)
        self._charge = client.register_script(_CHARGE)
        self._interval_ms = 1000 * window_s / limit
        self._limit = limit
        self._availability = availability
        self._fallback = fallback
        self._prefix = prefix

    async def retry_after_s(self, address: str) -> float:
        if not self._availability.usable:
            return await self._fallback.retry_after_s(address)
        try:
            wait_ms = await self._check(
                keys=[self._prefix + address], args=[self._interval_ms, self._limit]
            )
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            return await self._fallback.retry_after_s(address)
        self._availability.succeeded()
        return int(wait_ms) / 1000

    async def record_failure(self, address: str) -> None:
        if not self._availability.usable:
            await self._fallback.record_failure(address)
            return
        try:
            await self._charge(keys=[self._prefix + address], args=[self._interval_ms])
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            await self._fallback.record_failure(address)
            return
        self._availability.succeeded()
