"""RedisAvailability: whether to try Redis now, so an outage costs one failure per cool-down."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class RedisAvailability:
    """Shared by every Redis adapter of a process: after a failure, Redis is skipped for
    `cooldown_s`, then tried again by the next call (which either restores it or restarts the
    cool-down). A down Redis thus costs one failed call per cool-down instead of a timeout per
    request, and a Redis that comes back is used again without a restart.
    """

    def __init__(
        self, *, cooldown_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until: float | None = None

    @property
    def usable(self) -> bool:
        """True unless a failure was recorded less than `cooldown_s` ago."""
        with self._lock:
            return self._down_until is None or self._clock() >= self._down_until

    @property
    def down(self) -> bool:
        """True from a recorded failure until the next recorded success."""
        with self._lock:
            return self._down_until is not None

    def failed(self, exc: BaseException) -> None:
        """Records a failed Redis call; logs the first failure of an outage."""
        with self._lock:
            first = self._down_until is None
            self._down_until = self._clock() + self._cooldown_s
        if first:
            logger.warning("redis unavailable: using the fallbacks", extra={"error": repr(exc)})

    def succeeded(self) -> None:
        """Records a successful Redis call; logs the end of an outage."""
        with self._lock:
            recovered = self._down_until is not None
            self._down_until = None
        if recovered:
            logger.warning("redis is back: leaving the fallbacks")
