"""RedisResponseCache: the ResponseCache port over Redis, with cross-worker single flight.

Single flight: of identical concurrent misses, one computes. Inside a process the others wait
on it (LocalFlights); across processes the computing one holds `<key>:lock` (SET NX PX) and
the others poll for the value. A computation that fails releases the lock, and a waiter takes
over; a result that must not be cached (a volatile tool was used) leaves a short marker so the
waiters compute their own instead of queueing.

A value and its lock are read and written together (a script, MGET), so on Redis Cluster they
must share a slot: callers give keys with a hash tag (`...{<digest>}`), as the keys of
`chat_service.core.cache.keys` have, and the lock `<key>:lock` inherits it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from redis.commands.core import Script

from chat_service.adapters.redis.client import REDIS_ERRORS, SyncRedis
from chat_service.adapters.redis.turn_round_trips import DeferredScript, TurnRoundTrips
from chat_service.core.availability import RedisAvailability
from chat_service.core.cache.single_flight import LocalFlights
from chat_service.core.cache.stats import CacheObserver, CacheOutcome
from chat_service.ports.response_cache import Cached, Computed

_UNCACHEABLE = b"-"
# KEYS: value, lock. ARGV: token, lock ttl ms. One round trip for a lookup: the value if stored
# ({1, value}), else the lock taken for this computation ({2}), else held by another ({0}).
_LOOKUP = """
local value = redis.call('GET', KEYS[1])
if value then return {1, value} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
"""
_FOUND, _LOCKED = 1, 2
# KEYS: value, lock. ARGV: token, value ("" for none), value ttl ms, marker ttl ms.
# Stores the value (if any) and releases the lock if this computation still holds it; with no
# value, leaves the uncacheable marker instead of the lock.
_FINISH = """
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  if ARGV[2] == '' and ARGV[4] ~= '0' then
    redis.call('SET', KEYS[2], '-', 'PX', ARGV[4])
  else
    redis.call('DEL', KEYS[2])
  end
end
return 1
"""
# KEYS: lock. ARGV: token. Releases the lock if still held by this computation.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisResponseCache:
    """ResponseCache over Redis. Values expire by their TTL; nothing else evicts them."""

    def __init__(
        self,
        client: SyncRedis,
        *,
        availability: RedisAvailability,
        observer: CacheObserver,
        compute_timeout_s: float = 120.0,
        poll_s: tuple[float, float] = (0.01, 0.1),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        round_trips: TurnRoundTrips | None = None,
    ) -> None:
        """`compute_timeout_s` bounds how long a computation holds the lock and how long others
        wait for it before computing on their own; `poll_s` is the first and the longest pause
        between two looks at a value being computed elsewhere. With `round_trips`, a value
        computed while the thread holds a turn's lease is stored with the lease's release."""
        self._redis = client
        self._trips = round_trips
        self._availability = availability
        self._observer = observer
        self._lease_ms = max(1, int(compute_timeout_s * 1000))
        self._poll_s = poll_s
        self._sleep = sleep
        self._clock = clock
        self._flights: LocalFlights[Cached] = LocalFlights()
        self._lookup_script = client.register_script(_LOOKUP)
        self._finish = client.register_script(_FINISH)
        self._release = client.register_script(_RELEASE)

    def get_or_compute(self, key: str, *, kind: str, compute: Callable[[], Computed]) -> Cached:
        cached = self._lookup(key, compute)
        self._observer.record(kind, cached.outcome)
        return cached

    def _lookup(self, key: str, compute: Callable[[], Computed]) -> Cached:
        if not self._availability.usable:
            return Cached(compute().value, CacheOutcome.BYPASS)
        # Concurrent identical lookups in this process share one: one round trip, one
        # computation; a value found is a hit for each of them.
        cached, led = self._flights.run(key, lambda: self._lookup_once(key, compute))
        if led or cached.outcome is CacheOutcome.HIT:
            return cached
        return Cached(cached.value, CacheOutcome.COALESCED)

    def _lookup_once(self, key: str, compute: Callable[[], Computed]) -> Cached:
        """Looks the value up and, when it is missing, takes the lock, in one script call."""
        lock_key = f"{key}:lock"
        token = uuid.uuid4().hex
        try:
            found = self._lookup_script(keys=[key, lock_key], args=[token, self._lease_ms])
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            return Cached(compute().value, CacheOutcome.BYPASS)
        self._availability.succeeded()
        if found[0] == _FOUND:
            return Cached(_text(found[1]), CacheOutcome.HIT)
        if found[0] == _LOCKED:
            return Cached(self._compute_and_store(key, lock_key, token, compute), CacheOutcome.MISS)
        return self._compute_once(key, lock_key, compute)

    def _compute_once(self, key: str, lock_key: str, compute: Callable[[], Computed]) -> Cached:
        """Waits for the computation another worker holds the lock of, taking it over if that
        one fails."""
        deadline = self._clock() + self._lease_ms / 1000
        while True:
            found = self._wait(key, lock_key, deadline)
            if isinstance(found, str):
                return Cached(found, CacheOutcome.COALESCED)
            if found is not _GONE:
                # Uncacheable elsewhere, waited too long, or Redis failed: compute on our own.
                return Cached(compute().value, CacheOutcome.MISS)
            # The computation elsewhere failed: try to take it over.
            token = uuid.uuid4().hex
            try:
                acquired = bool(self._redis.set(lock_key, token, nx=True, px=self._lease_ms))
            except REDIS_ERRORS as exc:
                self._availability.failed(exc)
                return Cached(compute().value, CacheOutcome.BYPASS)
            if acquired:
                value = self._compute_and_store(key, lock_key, token, compute)
                return Cached(value, CacheOutcome.MISS)

    def _compute_and_store(
        self, key: str, lock_key: str, token: str, compute: Callable[[], Computed]
    ) -> str:
        try:
            computed = compute()
        except BaseException:
            self._run_script(self._release, [lock_key], [token])
            raise
        ttl_ms = int(computed.ttl_s * 1000) if computed.ttl_s else 0
        value = computed.value if ttl_ms > 0 else ""
        finish = DeferredScript(
            self._finish, [key, lock_key], [token, value, max(ttl_ms, 1), self._lease_ms // 10]
        )
        if self._trips is None or not self._trips.defer(finish):
            self._run_script(finish.script, finish.keys, finish.args)
        return computed.value

    def _wait(self, key: str, lock_key: str, deadline: float) -> str | object | None:
        """Returns the value once stored, _GONE if the lock vanished without one, None if the
        result is uncacheable, the deadline passed or Redis failed."""
        pause = self._poll_s[0]
        while self._clock() < deadline:
            self._sleep(pause)
            pause = min(pause * 2, self._poll_s[1])
            try:
                value, lock = self._redis.mget([key, lock_key])
            except REDIS_ERRORS as exc:
                self._availability.failed(exc)
                return None
            if value is not None:
                return _text(value)
            if lock is None:
                return _GONE
            if lock == _UNCACHEABLE:
                return None
        return None

    def _run_script(self, script: Script, keys: list[str], args: list[str | int]) -> None:
        try:
            script(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            # The value is still returned to the caller; it is just not shared.
            self._availability.failed(exc)


_GONE = object()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
