"""LiveTurn: this worker's copy of a running turn's newest events, read by the connections
here without a round trip to Redis."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading

from chat_service.core.turn_events import TurnEvent
from chat_service.edge.twirp import TwirpError


class LiveTurn:
    """The last `capacity` events of a turn, pushed by the turn's thread and read on the
    event loop. A reader that fell more than `capacity` events behind is told so (`after`
    returns None) and reads the missing ones from the event log: a slow reader never holds
    the turn, and its memory is bounded by `capacity`, not by the reader's pace.
    """

    def __init__(
        self, turn_id: str, owner: str, loop: asyncio.AbstractEventLoop, *, capacity: int
    ) -> None:
        self.turn_id = turn_id
        self.owner = owner
        self._loop = loop
        self._lock = threading.Lock()
        self._events: collections.deque[TurnEvent] = collections.deque(maxlen=capacity)
        self._last_seq = 0
        self._ended = False
        self._refusal: TwirpError | None = None
        self._waiters: list[asyncio.Future[None]] = []
        # Set (under the lock) by a reader about to wait: a push wakes the loop only then, so
        # events that come while the readers are busy sending cost no wake-up of their own.
        self._wanted = False

    @property
    def ended(self) -> bool:
        return self._ended

    def push(self, event: TurnEvent) -> None:
        """Adds the turn's next event (from any thread) and wakes the readers."""
        with self._lock:
            self._events.append(event)
            self._last_seq = event.seq
            self._ended = self._ended or event.terminal
            wake, self._wanted = self._wanted, False
        if wake:
            self._wake_soon()

    def refuse(self, error: TwirpError) -> None:
        """Ends a turn that failed before it started: its request is answered `error`."""
        with self._lock:
            self._refusal = error
            self._ended = True
            self._wanted = False
        self._wake_soon()

    async def started(self) -> None:
        """Returns once the turn started; raises its refusal if it failed before."""
        while True:
            with self._lock:
                if self._refusal is not None:
                    raise self._refusal
                if self._last_seq > 0:
                    return
                future = self._waiter()
            await future

    def after(self, seq: int) -> list[TurnEvent] | None:
        """Returns the events after `seq` held here (empty when none yet), or None when some of
        them are no longer held."""
        with self._lock:
            if seq >= self._last_seq:
                return []
            first = self._events[0].seq
            if seq + 1 < first:
                return None
            return list(itertools.islice(self._events, seq + 1 - first, None))

    async def wait_beyond(self, seq: int, *, timeout_s: float) -> bool:
        """Waits until an event after `seq` is held; False if `timeout_s` passed first."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    with self._lock:
                        if self._last_seq > seq or self._refusal is not None:
                            return True
                        future = self._waiter()
                    await future
        except TimeoutError:
            return False

    def _waiter(self) -> asyncio.Future[None]:
        """Returns a future the next push resolves; call holding the lock, on the loop."""
        future = self._loop.create_future()
        self._waiters.append(future)
        self._wanted = True
        return future

    def _wake_soon(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed (shutdown): nobody reads
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)
