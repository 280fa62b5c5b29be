"""Bounded label values: the first `cap` distinct values keep their name, the rest are `other`.

Prometheus keeps one series per label combination, so a label fed by users (user ids)
must not grow without bound. Each process keeps its own set: with N workers a label can
reach N × cap values at worst.
"""

from __future__ import annotations

import threading

OTHER = "other"


class BoundedLabels:
    """Maps raw values to label values, admitting at most `cap` distinct ones."""

    def __init__(self, *, cap: int) -> None:
        if cap < 0:
            raise ValueError("cap must not be negative")
        self._cap = cap
        self._admitted: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        """Returns `value` if admitted (the empty value always is), else `other`."""
        if not value or value in self._admitted:
            return value
        with self._lock:
            if value in self._admitted:
                return value
            if len(self._admitted) < self._cap:
                self._admitted.add(value)
                return value
        return OTHER
