"""RedisStreamSlots: open streams per owner as a sorted set of leases (score: expiry, ms).

Key: acai:streams:{<owner>} (one key per owner: one slot of Redis Cluster).
"""

from __future__ import annotations

from chat_service.adapters.redis.client import REDIS_ERRORS, AsyncRedis
from chat_service.ports.stream_slots import StreamSlotsUnavailable

# KEYS: the owner's set. ARGV: slot, limit, lease ms. Drops expired leases, then takes the slot
# if fewer than `limit` remain. Redis's clock is the one clock of every worker.
_ACQUIRE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
_RENEW = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


class RedisStreamSlots:
    """Slots in Redis, atomic across workers; Redis errors become StreamSlotsUnavailable."""

    def __init__(self, client: AsyncRedis, *, prefix: str = "acai:streams:") -> None:
        self._redis = client
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)

    async def acquire(self, owner: str, slot: str, *, limit: int, lease_s: float) -> bool:
        try:
            return bool(
                await self._acquire(keys=[self._key(owner)], args=[slot, limit, _ms(lease_s)])
            )
        except REDIS_ERRORS as exc:
            raise StreamSlotsUnavailable("redis") from exc

    async def renew(self, owner: str, slot: str, *, lease_s: float) -> None:
        try:
            await self._renew(keys=[self._key(owner)], args=[slot, _ms(lease_s)])
        except REDIS_ERRORS as exc:
            raise StreamSlotsUnavailable("redis") from exc

    async def release(self, owner: str, slot: str) -> None:
        try:
            await self._redis.zrem(self._key(owner), slot)
        except REDIS_ERRORS as exc:
            raise StreamSlotsUnavailable("redis") from exc

    def _key(self, owner: str) -> str:
        return f"{self._prefix}{{{owner}}}"


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
