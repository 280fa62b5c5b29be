"""TurnRoundTrips: a turn's Redis commands that need no round trip of their own travel with
its lease's.

- **Read with the lease.** Taking a turn's lease (SET NX) reads, in the same pipeline, the key
  that `read_along` names for the turn (the owner's cache generation): the generations adapter
  takes that value instead of asking again. The read comes after the lease and before the
  conversation is read, which is what the generation's rule asks for.
- **Written with the release.** While the thread holds a lease in Redis, a write whose answer
  nobody waits for (the response cache's value and the release of its single-flight lock)
  waits, and goes in the pipeline that releases the lease: after the turn's MongoDB write,
  before the turn answers.

All of it is per thread (the turn's), and only on a single Redis server: a Redis Cluster
client sends each command alone, as before (the keys lie in different slots).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.commands.core import Script


@dataclass(frozen=True)
class DeferredScript:
    """A script call whose answer nobody waits for."""

    script: Script
    keys: list[str]
    args: list[Any]


class TurnRoundTrips:
    """The per-thread state shared by the lease, generations and response cache adapters.

    `read_along()` names the key to read with a lease (None: nothing).
    """

    def __init__(self, read_along: Callable[[], str | None] = lambda: None) -> None:
        self._read_along = read_along
        self._local = threading.local()

    def key_to_read(self) -> str | None:
        """The key to read along the lease being taken now."""
        return self._read_along()

    def read(self, key: str, value: object) -> None:
        """Keeps `value`, read along a lease, for the next `take_read(key)` on this thread."""
        self._local.read = (key, value)

    def take_read(self, key: str) -> tuple[bool, Any]:
        """Returns (True, the value) if `key` was read along this thread's lease (once),
        else (False, None)."""
        kept = getattr(self._local, "read", None)
        if kept is None or kept[0] != key:
            return False, None
        self._local.read = None
        return True, kept[1]

    def holding(self) -> None:
        """This thread took a lease in Redis."""
        self._local.leases = getattr(self._local, "leases", 0) + 1

    def defer(self, call: DeferredScript) -> bool:
        """Keeps `call` for the release of this thread's lease; False (run it now) when the
        thread holds none."""
        if not getattr(self._local, "leases", 0):
            return False
        deferred: list[DeferredScript] | None = getattr(self._local, "deferred", None)
        if deferred is None:
            deferred = self._local.deferred = []
        deferred.append(call)
        return True

    def releasing(self) -> list[DeferredScript]:
        """This thread is releasing a lease: returns the calls deferred until now (to send
        with the release) and forgets what was read along."""
        self._local.leases = max(0, getattr(self._local, "leases", 0) - 1)
        self._local.read = None
        deferred: list[DeferredScript] = getattr(self._local, "deferred", None) or []
        self._local.deferred = None
        return deferred
