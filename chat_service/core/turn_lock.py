"""TurnLock: one turn at a time per conversation (or session), across every worker.

A lease is taken in Redis (SET NX PX), or in MongoDB while Redis is unavailable, and expires
unless renewed: a LeaseKeeper thread renews every held lease each third of its TTL, so a
crashed worker blocks a conversation for one TTL at most. A renewal only extends a lease its
holder still has. One that vanished while its turn still holds it (a store restarted empty) is
taken again; one another holder took over is marked lost, and the turn then refuses to commit;
one released while the keeper renews it stays released. Fencing is in the store: a turn
commits only if the conversation's version (message count) is the one it read under the
lease, so even a turn whose lease expired, or two turns holding leases from two backends
during a Redis failover, can never interleave their writes.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from chat_service.core.availability import RedisAvailability
from chat_service.core.errors import StorageUnavailable, TurnBusy, TurnConflict
from chat_service.ports.turn_lock import LockBackend, LockBackendUnavailable

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Lease:
    """A held lease. `check()` before committing raises TurnConflict if it was lost."""

    key: str
    holder: str
    backend: LockBackend
    lost: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raises TurnConflict if the lease could not be kept."""
        if self.lost.is_set():
            raise TurnConflict()


class TurnLock:
    """Holds leases by key: Redis first, `fallback` (MongoDB) while Redis is unavailable.

    A holder waits at most `wait_s` for a busy key, then gets TurnBusy. Waiters in this
    process are woken when a lease on their key is released here; others poll.
    """

    def __init__(
        self,
        primary: LockBackend,
        fallback: LockBackend,
        *,
        availability: RedisAvailability,
        ttl_s: float = 15.0,
        wait_s: float = 30.0,
        poll_s: tuple[float, float] = (0.01, 0.1),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._availability = availability
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._clock = clock
        self._keeper = LeaseKeeper(ttl_s=ttl_s)
        self._guard = threading.Lock()
        self._released: dict[str, tuple[threading.Condition, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[Lease]:
        """Holds the lease of `key` for the block. Raises TurnBusy after `wait_s`, and
        Unavailable (StorageUnavailable) when neither Redis nor MongoDB answers."""
        lease = self._acquire(key)
        self._keeper.add(lease)
        try:
            yield lease
        finally:
            self._keeper.discard(lease)  # before the release: the keeper must not take it again
            try:
                lease.backend.release(key, lease.holder)
            except LockBackendUnavailable:
                logger.warning("could not release a turn lease; it expires by itself")
            self._notify(key)

    def close(self) -> None:
        """Stops renewing leases (at shutdown)."""
        self._keeper.stop()

    def _acquire(self, key: str) -> Lease:
        holder = secrets.token_hex(12)
        deadline = self._clock() + self._wait_s
        pause = self._poll_s[0]
        while True:
            backend = self._try(key, holder)
            if backend is not None:
                return Lease(key, holder, backend)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise TurnBusy()
            self._wait_for_release(key, min(pause, remaining))
            pause = min(pause * 2, self._poll_s[1])

    def _try(self, key: str, holder: str) -> LockBackend | None:
        if self._availability.usable:
            try:
                acquired = self._primary.try_acquire(key, holder, ttl_s=self._ttl_s)
            except LockBackendUnavailable as exc:
                self._availability.failed(exc)
            else:
                self._availability.succeeded()
                return self._primary if acquired else None
        try:
            acquired = self._fallback.try_acquire(key, holder, ttl_s=self._ttl_s)
        except LockBackendUnavailable as exc:
            raise StorageUnavailable("no store can hold the turn lock") from exc
        return self._fallback if acquired else None

    def _wait_for_release(self, key: str, timeout_s: float) -> None:
        with self._guard:
            condition, waiters = self._released.get(key, (threading.Condition(), 0))
            self._released[key] = (condition, waiters + 1)
        with condition:
            condition.wait(timeout_s)
        with self._guard:
            condition, waiters = self._released[key]
            if waiters == 1:
                del self._released[key]
            else:
                self._released[key] = (condition, waiters - 1)

    def _notify(self, key: str) -> None:
        with self._guard:
            entry = self._released.get(key)
        if entry is not None:
            with entry[0]:
                entry[0].notify_all()


class LeaseKeeper:
    """A daemon thread renewing held leases every `ttl_s / 3`; marks those it cannot keep."""

    def __init__(self, *, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        # Each held lease with the lock its take-back holds: `discard` waits for it, so a lease
        # is never taken again once its turn has released it.
        self._leases: dict[Lease, threading.Lock] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, lease: Lease) -> None:
        """Keeps `lease` alive until `discard`."""
        with self._lock:
            self._leases[lease] = threading.Lock()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()

    def discard(self, lease: Lease) -> None:
        """Stops renewing `lease`. Once this returns, the keeper will not take the lease again,
        so its holder may release it."""
        with self._lock:
            taking_back = self._leases.pop(lease, None)
        if taking_back is not None:
            with taking_back:  # waits out a take-back in flight
                pass

    def stop(self) -> None:
        """Ends the renewing thread."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._ttl_s / 3):
            with self._lock:
                leases = list(self._leases.items())
            for lease, taking_back in leases:
                if not self._holds(lease):
                    continue  # released since the snapshot
                try:
                    self._renew(lease, taking_back)
                except Exception:
                    logger.exception("renewing a turn lease failed")

    def _holds(self, lease: Lease) -> bool:
        with self._lock:
            return lease in self._leases

    def _renew(self, lease: Lease, taking_back: threading.Lock) -> None:
        try:
            if lease.backend.renew(lease.key, lease.holder, ttl_s=self._ttl_s):
                return
            with taking_back:
                if not self._holds(lease):
                    return  # released while being renewed: nothing to keep, nothing lost
                # Still held, so the lease vanished (a store restarted empty or flushed) or
                # another holder has it; taking it again succeeds only in the first case.
                kept = lease.backend.try_acquire(lease.key, lease.holder, ttl_s=self._ttl_s)
        except LockBackendUnavailable:
            # Unknown, not lost: the store's fencing still guards the commit.
            logger.warning("could not renew a turn lease; trying again later")
            return
        if not kept:
            logger.warning("lost a turn lease; the turn will not commit")
            lease.lost.set()
            with self._lock:
                self._leases.pop(lease, None)
