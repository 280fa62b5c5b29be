"""InMemoryLockBackend: a LockBackend in a dict with an injected clock (checked by the same
contract tests as the Redis and Mongo backends)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chat_service.ports.turn_lock import LockBackendUnavailable


class InMemoryLockBackend:
    """Set `unavailable = True` to make every call raise LockBackendUnavailable."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.unavailable = False
        self.clock = clock
        self._lock = threading.Lock()
        self._leases: dict[str, tuple[str, float]] = {}

    def holder_of(self, key: str) -> str | None:
        with self._lock:
            lease = self._leases.get(key)
        return lease[0] if lease and lease[1] > self.clock() else None

    def try_acquire(self, key: str, holder: str, *, ttl_s: float) -> bool:
        with self._lock:
            self._check()
            lease = self._leases.get(key)
            if lease is not None and lease[1] > self.clock():
                return False
            self._leases[key] = (holder, self.clock() + ttl_s)
            return True

    def renew(self, key: str, holder: str, *, ttl_s: float) -> bool:
        with self._lock:
            self._check()
            lease = self._leases.get(key)
            if lease is None or lease[0] != holder or lease[1] <= self.clock():
                return False
            self._leases[key] = (holder, self.clock() + ttl_s)
            return True

    def release(self, key: str, holder: str) -> None:
        with self._lock:
            self._check()
            if self._leases.get(key, ("", 0.0))[0] == holder:
                del self._leases[key]

    def _check(self) -> None:
        if self.unavailable:
            raise LockBackendUnavailable("in-memory backend switched off")
