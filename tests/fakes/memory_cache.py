"""InMemoryResponseCache: a ResponseCache in a dict that records each stored TTL."""

from __future__ import annotations

import threading
from collections.abc import Callable

from chat_service.core.cache.stats import CacheOutcome
from chat_service.ports.response_cache import Cached, Computed


class InMemoryResponseCache:
    """Stores values forever (TTLs are recorded in `ttls`, not enforced); no single flight."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.ttls: dict[str, float] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: str, *, kind: str, compute: Callable[[], Computed]) -> Cached:
        with self._lock:
            if key in self.values:
                return Cached(self.values[key], CacheOutcome.HIT)
        computed = compute()
        if computed.ttl_s:
            with self._lock:
                self.values[key] = computed.value
                self.ttls[key] = computed.ttl_s
        return Cached(computed.value, CacheOutcome.MISS)
