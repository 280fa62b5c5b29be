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


class CacheGenerations(Protocol):
    """A number per owner that is part of every answer's cache key. Bumping it puts every
    answer cached for the owner out of reach at once (a deletion does)."""

    def current(self, owner: str) -> int | None:
        """Returns the owner's generation (0 before the first bump); None when the store
        cannot say, and then the caller must not use the cache."""
        ...

    def bump(self, owner: str) -> None:
        """Moves the owner to a new generation; raises Unavailable when it cannot."""
        ...
