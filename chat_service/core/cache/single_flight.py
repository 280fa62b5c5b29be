"""LocalFlights: concurrent calls for one key inside a process share a single computation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

_T = TypeVar("_T")


class LocalFlights(Generic[_T]):
    """The first caller of a key computes; callers arriving meanwhile wait for its result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Future[_T]] = {}

    def run(self, key: str, compute: Callable[[], _T]) -> tuple[_T, bool]:
        """Returns the value and whether this call computed it.

        A failed computation raises its exception in the caller that computed and in every
        caller that waited for it.
        """
        with self._lock:
            future = self._flights.get(key)
            leader = future is None
            if future is None:
                future = Future()
                self._flights[key] = future
        if not leader:
            return future.result(), False
        try:
            value = compute()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(value)
            return value, True
        finally:
            with self._lock:
                del self._flights[key]
