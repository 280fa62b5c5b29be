"""CacheMetrics: the response and tool caches' lookups as `cache_requests_total{kind, result}`."""

from __future__ import annotations

from chat_service.core.cache.stats import CacheOutcome
from chat_service.observability.metrics import Metrics


class CacheMetrics:
    """A CacheObserver (chat_service.core.cache.stats) that counts each lookup in `metrics`:
    `kind` "reply", "title" or "tool"; `result` "hit", "miss", "coalesced" (waited for
    another request's computation) or "bypass" (Redis unavailable, computed uncached)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def record(self, kind: str, outcome: CacheOutcome) -> None:
        self._metrics.cache_lookup(kind, outcome.value)
