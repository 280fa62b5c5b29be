"""RedisLockBackend: turn leases as Redis keys (SET NX PX), renewed and released by holder."""

from __future__ import annotations

import logging

import redis.cluster
import redis.exceptions

from chat_service.adapters.redis.client import REDIS_ERRORS, SyncRedis
from chat_service.adapters.redis.turn_round_trips import TurnRoundTrips
from chat_service.ports.turn_lock import LockBackendUnavailable

logger = logging.getLogger(__name__)

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
    """Leases under `acai:turnlock:v1:<key>`; Redis errors become LockBackendUnavailable.

    With `round_trips` (on a single server), taking a lease also reads what the turn reads
    next, and releasing it also sends the writes deferred meanwhile (see TurnRoundTrips).
    """

    def __init__(
        self,
        client: SyncRedis,
        *,
        prefix: str = "acai:turnlock:v1:",
        round_trips: TurnRoundTrips | None = None,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        cluster = isinstance(client, redis.cluster.RedisCluster)
        self._trips = None if cluster else round_trips

    def try_acquire(self, key: str, holder: str, *, ttl_s: float) -> bool:
        along = self._trips.key_to_read() if self._trips is not None else None
        try:
            if along is None:
                acquired = bool(self._redis.set(self._prefix + key, holder, nx=True, px=_ms(ttl_s)))
            else:
                pipe = self._redis.pipeline(transaction=False)
                pipe.set(self._prefix + key, holder, nx=True, px=_ms(ttl_s))
                pipe.get(along)
                taken, value = pipe.execute()
                acquired = bool(taken)
        except REDIS_ERRORS as exc:
            raise LockBackendUnavailable("redis") from exc
        if self._trips is not None and acquired:
            if along is not None:
                self._trips.read(along, value)
            self._trips.holding()
        return acquired

    def renew(self, key: str, holder: str, *, ttl_s: float) -> bool:
        try:
            return bool(self._renew(keys=[self._prefix + key], args=[holder, _ms(ttl_s)]))
        except REDIS_ERRORS as exc:
            raise LockBackendUnavailable("redis") from exc

    def release(self, key: str, holder: str) -> None:
        deferred = self._trips.releasing() if self._trips is not None else []
        lease = self._prefix + key
        try:
            if not deferred:
                self._release(keys=[lease], args=[holder])
                return
            # EVALSHA straight into the pipeline: a Script given the pipeline would first
            # ask SCRIPT EXISTS, one more round trip each time.
            pipe = self._redis.pipeline(transaction=False)
            for call in deferred:
                pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
            pipe.evalsha(self._release.sha, 1, lease, holder)
            answers = pipe.execute(raise_on_error=False)
            if isinstance(answers[-1], redis.exceptions.NoScriptError):  # a restarted server
                self._release(keys=[lease], args=[holder])
            for call, answer in zip(deferred, answers, strict=False):
                if isinstance(answer, redis.exceptions.NoScriptError):
                    call.script(keys=call.keys, args=call.args)
        except REDIS_ERRORS as exc:
            raise LockBackendUnavailable("redis") from exc
        if isinstance(answers[-1], Exception) and not isinstance(
            answers[-1], redis.exceptions.NoScriptError
        ):
            raise LockBackendUnavailable("redis") from answers[-1]
        if any(
            isinstance(a, Exception) and not isinstance(a, redis.exceptions.NoScriptError)
            for a in answers[:-1]
        ):
            logger.warning("a deferred cache write failed; the answer is just not shared")


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
