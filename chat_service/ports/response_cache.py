"""The ResponseCache port: text values by key, computed once across workers on a miss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chat_service.core.cache.stats import CacheOutcome


@dataclass(frozen=True, slots=True)
class Computed:
    """A freshly computed value and how long it may be cached (None: not at all)."""

    value: str
    ttl_s: float | None


@dataclass(frozen=True, slots=True)
class Cached:
    """A value and how it was obtained."""

    value: str
    outcome: CacheOutcome


class ResponseCache(Protocol):
    """Caches text values by key; fails open (computes) when its store is unavailable."""

    def get_or_compute(self, key: str, *, kind: str, compute: Callable[[], Computed]) -> Cached:
        """Returns the cached value of `key`, else computes it once across all workers.

        Exceptions of `compute` propagate (nothing is cached).
        """
        ...
