"""RedisLockBackend: turn leases as Redis keys (SET NX PX), renewed and released by holder."""

from __future__ import annotations

from chat_service.adapters.redis.client import REDIS_ERRORS, SyncRedis
from chat_service.ports.turn_lock import LockBackendUnavailable

# KEYS: lease. ARGV: holder, ttl ms. Extends the lease of `holder`; 0 if it is gone or another
# holder has it. Never sets a missing key: the holder may have just released it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLockBackend:
    """Leases under `acai:turnlock:v1:<key>`; Redis errors become LockBackendUnavailable."""

    def __init__(self, client: SyncRedis, *, prefix: str = "acai:turnlock:v1:") -> None:
        self._redis = client
        self._prefix = prefix
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def try_acquire(self, key: str, holder: str, *, ttl_s: float) -> bool:
        try:
            return bool(self._redis.set(self._prefix + key, holder, nx=True, px=_ms(ttl_s)))
        except REDIS_ERRORS as exc:
            raise LockBackendUnavailable("redis") from exc

    def renew(self, key: str, holder: str, *, ttl_s: float) -> bool:
        try:
            return bool(self._renew(keys=[self._prefix + key], args=[holder, _ms(ttl_s)]))
        except REDIS_ERRORS as exc:
            raise LockBackendUnavailable("redis") from exc

    def release(self, key: str, holder: str) -> None:
        try:
            self._release(keys=[self._prefix + key], args=[holder])
        except REDIS_ERRORS as exc:
            raise LockBackendUnavailable("redis") from exc


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
