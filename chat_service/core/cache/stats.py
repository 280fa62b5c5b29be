"""Cache hit and miss counts: the observer port the cache reports to, and in-process counters."""

from __future__ import annotations

import enum
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class CacheOutcome(enum.Enum):
    """How a cache lookup ended."""

    HIT = "hit"  # the value was stored already
    MISS = "miss"  # computed here (the provider was called) and stored when cacheable
    COALESCED = "coalesced"  # another request computed it meanwhile; this one waited for it
    BYPASS = "bypass"  # Redis unavailable: computed without the cache


class CacheObserver(Protocol):
    """Receives one outcome per lookup; `kind` is a small fixed set ("reply", "title", "tool")."""

    def record(self, kind: str, outcome: CacheOutcome) -> None:
        """Counts one lookup; must be cheap and never raise."""
        ...


@dataclass(frozen=True, slots=True)
class CacheCounts:
    """Lookups of one kind since the process started, by outcome."""

    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    bypassed: int = 0


class CacheCounters:
    """A thread-safe CacheObserver that keeps per-process counts, read with `snapshot()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, CacheOutcome]] = Counter()

    def record(self, kind: str, outcome: CacheOutcome) -> None:
        with self._lock:
            self._counts[kind, outcome] += 1

    def snapshot(self) -> dict[str, CacheCounts]:
        """Returns the counts of every kind seen so far."""
        with self._lock:
            counts = dict(self._counts)
        kinds = sorted({kind for kind, _ in counts})
        return {
            kind: CacheCounts(
                hits=counts.get((kind, CacheOutcome.HIT), 0),
                misses=counts.get((kind, CacheOutcome.MISS), 0),
                coalesced=counts.get((kind, CacheOutcome.COALESCED), 0),
                bypassed=counts.get((kind, CacheOutcome.BYPASS), 0),
            )
            for kind in kinds
        }


class CacheObservers:
    """A CacheObserver that passes each outcome to several (the counters and the metrics)."""

    def __init__(self, observers: Iterable[CacheObserver]) -> None:
        self._observers = tuple(observers)

    def record(self, kind: str, outcome: CacheOutcome) -> None:
        for observer in self._observers:
            observer.record(kind, outcome)
