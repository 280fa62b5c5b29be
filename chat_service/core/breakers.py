"""Circuit breakers (closed, open, half-open) per provider and per tool upstream, on `circuitbreaker`.

Other parts read their state through `BreakerBoard.states()` (metrics, /health).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from circuitbreaker import STATE_OPEN, CircuitBreaker

from chat_service.core.errors import Unavailable
from tools.breakers import BreakerOpen

_T = TypeVar("_T")
Clock = Callable[[], float]
FailurePredicate = Callable[[BaseException], bool]
Listener = Callable[[str, str], None]  # (breaker name, new state)


class CircuitOpen(Unavailable, BreakerOpen):
    """A breaker is open: the dependency failed repeatedly and is not called until its cooldown."""

    def __init__(self, name: str, remaining_s: float) -> None:
        super().__init__(f"{name} is unavailable (circuit open, next try in {remaining_s:.0f} s)")
        self.name = name
        self.remaining_s = remaining_s


class _ClockedCircuitBreaker(CircuitBreaker):  # type: ignore[misc]
    """`circuitbreaker.CircuitBreaker` with an injected monotonic clock and a lock.

    The library reads `time.monotonic` directly and updates its counters without a lock;
    tests need to move time, and turns run on many threads.
    """

    def __init__(self, *, clock: Clock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self._opened = clock()
        self._lock = threading.Lock()

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> Literal[False]:
        with self._lock:
            super().__exit__(exc_type, exc_value, traceback)
            if exc_type is not None and self._state == STATE_OPEN:
                self._opened = self._clock()  # the library stamped its own clock's time
        return False

    @property
    def open_remaining(self) -> float:
        remaining = float(self._opened + self._recovery_timeout - self._clock())
        return max(0.0, remaining)


class Breaker:
    """One named breaker: `call` runs a function through it.

    Closed: calls pass; `max_failures` consecutive counted failures open it. Open: calls fail
    fast with CircuitOpen for `cooldown_s`. Half-open (cooldown over): calls pass as probes;
    a success closes it, a counted failure opens it again for another cooldown. Exceptions
    for which `counts` is false (e.g. a provider refusing one request) pass through
    without counting and, like successes, reset the count.

    `on_change(name, state)` hears each change of state a call sees: before it (open has
    turned half-open) and after it (closed, or opened again).
    """

    def __init__(
        self,
        name: str,
        *,
        max_failures: int,
        cooldown_s: float,
        counts: FailurePredicate,
        clock: Clock = time.monotonic,
        on_change: Listener | None = None,
    ) -> None:
        self.name = name
        self._on_change = on_change
        self._reported = "closed"
        self._report_lock = threading.Lock()
        self._breaker = _ClockedCircuitBreaker(
            clock=clock,
            name=name,
            failure_threshold=max_failures,
            recovery_timeout=cooldown_s,
            expected_exception=lambda _type, exc: counts(exc),
        )

    @property
    def state(self) -> str:
        """Returns "closed", "open" or "half_open"."""
        return str(self._breaker.state)

    def call(self, function: Callable[[], _T]) -> _T:
        """Returns `function()`; raises CircuitOpen while open, else what `function` raises."""
        self._report()
        if self._breaker.opened:
            raise CircuitOpen(self.name, self._breaker.open_remaining)
        try:
            with self._breaker:
                result = function()
        finally:
            self._report()
        return result

    def _report(self) -> None:
        if self._on_change is None:
            return
        with self._report_lock:  # so that listeners hear the changes in order
            state = self.state
            if state != self._reported:
                self._reported = state
                self._on_change(self.name, state)


class BreakerBoard:
    """Creates the service's breakers with shared settings and reports their states."""

    def __init__(
        self, *, max_failures: int, cooldown_s: float, clock: Clock = time.monotonic
    ) -> None:
        self._max_failures = max_failures
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._breakers: dict[str, Breaker] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def add_listener(self, listener: Listener) -> None:
        """Makes `listener(name, state)` hear every breaker's changes of state, as its calls
        see them (an open breaker turns half-open by time alone; `states()` shows that)."""
        with self._lock:
            self._listeners.append(listener)

    def breaker(self, name: str, *, counts: FailurePredicate) -> Breaker:
        """Returns the breaker called `name`, creating it with `counts` on first use."""
        with self._lock:
            found = self._breakers.get(name)
            if found is None:
                found = Breaker(
                    name,
                    max_failures=self._max_failures,
                    cooldown_s=self._cooldown_s,
                    counts=counts,
                    clock=self._clock,
                    on_change=self._changed,
                )
                self._breakers[name] = found
            return found

    def _changed(self, name: str, state: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(name, state)

    def state(self, name: str) -> str:
        """Returns the state of the breaker called `name`; raises KeyError if there is none."""
        with self._lock:
            return self._breakers[name].state

    def states(self) -> dict[str, str]:
        """Returns each breaker's state by name: "closed", "open" or "half_open"."""
        with self._lock:
            breakers = list(self._breakers.values())
        return {b.name: b.state for b in sorted(breakers, key=lambda b: b.name)}
