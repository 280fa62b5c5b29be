"""The circuit breakers a tool's upstreams go through, as tools see them.

The host (the service) supplies a `Breakers` through `ToolContext.breakers`; a tool asks it
for one named breaker per upstream and runs each call through it. While a breaker is open,
`call` raises `BreakerOpen` without running the function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

_T = TypeVar("_T")


class BreakerOpen(Exception):
    """The breaker `name` is open; the next call may pass in `remaining_s` seconds."""

    name: str
    remaining_s: float


class Breaker(Protocol):
    """One named breaker."""

    def call(self, function: Callable[[], _T]) -> _T:
        """Returns `function()`; raises BreakerOpen while open, else what `function` raises."""
        ...


class Breakers(Protocol):
    """Hands out named breakers; the same name gives the same breaker."""

    def breaker(self, name: str, *, counts: Callable[[BaseException], bool]) -> Breaker:
        """Returns the breaker `name`; only exceptions for which `counts` is true open it."""
        ...
