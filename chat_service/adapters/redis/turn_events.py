"""RedisTurnEventLog: the TurnEventLog port over one Redis stream per turn.

Keys share the turn's hash tag, so a turn's commands all go to one Redis Cluster slot:
  acai:turn:{<turn id>}:events  stream, entry id "<seq>-0", field "e" = the encoded event,
                                trimmed to about `max_events` (XADD MAXLEN ~)
  acai:turn:{<turn id>}:owner   the owner's name
  acai:turn:{<turn id>}:stop    set by request_stop
  acai:conversation:{<id>}:turn the conversation's running turn
While the turn runs they live `running_ttl_s` (an hour), renewed every 64 events; after
close, `ended_ttl_s`.

A turn's first event is written at once, together with its owner and its conversation's
running turn (`begin`: a Redis that is down is known before the turn goes on, and whoever
learns the turn's id can resume it from any worker). The others are written behind: one
thread of the process sends what every turn appended in the last 5 ms in one pipeline, with
one read of their stop flags, so 64 turns that each stream a delta every 20 ms cost a few hundred
round trips a second instead of one per delta. `close` and `read_after` wait until the
turn's appends are written.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis.cluster

from chat_service.adapters.redis.client import REDIS_ERRORS, SyncRedis
from chat_service.core.turn_events import TurnEvent, decode_event, encode_event
from chat_service.ports.turn_events import EventLogUnavailable

# KEYS: conversation's running turn. ARGV: turn id. Unbinds it only if still this turn.
_UNBIND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


_RENEW_EVERY = 64  # appends between renewals of a running turn's expiry
_POLL_BACKOFF_S = 1.0  # after a stop poll that failed (Redis down), the pause before the next
_MAX_PENDING = 50_000  # events waiting to be written, all turns together; beyond, appends fail

logger = logging.getLogger(__name__)


class RedisTurnEventLog:
    """Turn events in Redis streams; Redis errors become EventLogUnavailable.

    `block_ms` bounds one blocking read (it must stay below the client's socket timeout).
    """

    def __init__(
        self,
        client: SyncRedis,
        *,
        max_events: int = 10_000,
        running_ttl_s: float = 3600.0,
        ended_ttl_s: float = 300.0,
        block_ms: int = 1000,
        prefix: str = "acai:",
    ) -> None:
        self._redis = client
        self._max_events = max_events
        self._running_ms = _ms(running_ttl_s)
        self._ended_ms = _ms(ended_ttl_s)
        self._block_ms = block_ms
        self._prefix = prefix
        self._unbind = client.register_script(_UNBIND)
        # One MGET reads every stop flag of a batch; a cluster's keys sit in many slots.
        self._one_read = not isinstance(client, redis.cluster.RedisCluster)
        self._writer = EventWriter(self._write)

    def begin(self, first: TurnEvent, *, owner: str, conversation_id: str) -> bool:
        """Writes the owner, the conversation's running turn and the first event in one
        pipeline (on a cluster, one round trip to each of the two slots' nodes)."""
        turn_id = first.turn_id
        with _errors():
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(self._key(turn_id, "owner"), owner, px=self._running_ms)
            if conversation_id:
                pipe.set(self._conversation_key(conversation_id), turn_id, px=self._running_ms)
            self._add(pipe, first)
            pipe.exists(self._key(turn_id, "stop"))
            stop = bool(pipe.execute()[-1])
        self._writer.opened(turn_id)
        return stop

    def owner(self, turn_id: str) -> str | None:
        with _errors():
            value = self._redis.get(self._key(turn_id, "owner"))
        return None if value is None else _text(value)

    def append(self, event: TurnEvent) -> bool:
        """Queues the event (after the turn's first) for the writer; returns whether a stop
        was requested, as Redis last said (read with each batch, and every 50 ms for every
        open turn) or as this process asked."""
        return self._writer.queue(event)

    def _add(self, pipe: Any, event: TurnEvent) -> None:
        events = self._key(event.turn_id, "events")
        pipe.xadd(
            events,
            {"e": encode_event(event)},
            id=f"{event.seq}-0",
            maxlen=self._max_events,
            approximate=True,
        )
        if event.seq % _RENEW_EVERY == 1:  # the first event, then now and then
            pipe.pexpire(events, self._running_ms)
            pipe.pexpire(self._key(event.turn_id, "owner"), self._running_ms)

    def _write(self, events: list[TurnEvent], check: Iterable[str] = ()) -> set[str]:
        """Writes `events` (in order) in one pipeline; returns which of their turns, and of
        the turns in `check`, were asked to stop."""
        turns = list(dict.fromkeys([*(event.turn_id for event in events), *check]))
        if not turns:
            return set()
        with _errors():
            pipe = self._redis.pipeline(transaction=False)
            for event in events:
                self._add(pipe, event)
            flags = [self._key(turn_id, "stop") for turn_id in turns]
            if self._one_read:
                pipe.mget(flags)
            else:
                for flag in flags:
                    pipe.exists(flag)
            answers = pipe.execute()
        stops = answers[-1] if self._one_read else answers[-len(turns) :]
        return {turn_id for turn_id, stop in zip(turns, stops, strict=True) if stop}

    def close_writer(self) -> None:
        """Stops the thread that writes behind (at shutdown, once the turns have ended)."""
        self._writer.stop()

    def close(self, turn_id: str, *, conversation_id: str) -> None:
        self._writer.settle(turn_id, forget=True)
        with _errors():
            pipe = self._redis.pipeline(transaction=False)
            for part in ("events", "owner", "stop"):
                pipe.pexpire(self._key(turn_id, part), self._ended_ms)
            pipe.execute()
            if conversation_id:
                self._unbind(keys=[self._conversation_key(conversation_id)], args=[turn_id])

    def read_after(self, turn_id: str, after: int) -> list[TurnEvent]:
        self._writer.settle(turn_id)
        with _errors():
            entries: Any = self._redis.xrange(self._key(turn_id, "events"), min=f"({after}-0")
        return [decode_event(fields[b"e"]) for _, fields in entries]

    def wait(self, turn_id: str, after: int, *, timeout_s: float) -> list[TurnEvent]:
        key = self._key(turn_id, "events")
        block = max(1, min(self._block_ms, int(timeout_s * 1000)))
        with _errors():
            answer: Any = self._redis.xread({key: f"{after}-0"}, block=block)
        return [decode_event(fields[b"e"]) for _, entries in answer for _, fields in entries]

    def running_turn(self, conversation_id: str) -> str | None:
        with _errors():
            value = self._redis.get(self._conversation_key(conversation_id))
        return None if value is None else _text(value)

    def request_stop(self, turn_id: str) -> None:
        with _errors():
            self._redis.set(self._key(turn_id, "stop"), b"1", px=self._running_ms)
        self._writer.stop_requested(turn_id)

    def _key(self, turn_id: str, part: str) -> str:
        return f"{self._prefix}turn:{{{turn_id}}}:{part}"

    def _conversation_key(self, conversation_id: str) -> str:
        return f"{self._prefix}conversation:{{{conversation_id}}}:turn"


class EventWriter:
    """The thread that writes the queued appends of every turn of a log, in batches.

    `write(events, check)` sends a batch and returns which of its turns, and of the turns in
    `check`, were asked to stop. Every `poll_s` the stop flags of all the open turns (those
    `opened` and not yet settled with `forget`) are read too, batch or not: a stop asked
    while the provider is still thinking is known before the first delta.

    A batch that fails marks its turns: their events still queued are dropped, and their next
    append (or close, or read_after) raises EventLogUnavailable once; the publisher goes on
    without the log, as when a synchronous append fails. A Redis that hangs holds the batches,
    not the turns: past `_MAX_PENDING` queued events, appends fail at once.
    """

    def __init__(
        self,
        write: Callable[[list[TurnEvent], Iterable[str]], set[str]],
        *,
        linger_s: float = 0.005,
        poll_s: float = 0.05,
        settle_s: float = 10.0,
    ) -> None:
        self._write = write
        self._linger_s = linger_s
        self._poll_s = poll_s
        self._settle_s = settle_s
        self._changed = threading.Condition()
        self._queue: list[TurnEvent] = []
        self._unwritten: collections.Counter[str] = collections.Counter()
        self._open: set[str] = set()
        self._stops: set[str] = set()
        self._failed: set[str] = set()
        self._polled = 0.0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def stop(self) -> None:
        """Ends the thread once it has written what is queued; later appends are written
        by a new one."""
        with self._changed:
            thread = self._thread
            if thread is None:
                return
            self._stopping = True
            self._changed.notify_all()
        thread.join(timeout=5.0)

    def opened(self, turn_id: str) -> None:
        """Starts watching the turn's stop flag (its first event was written)."""
        with self._changed:
            self._open.add(turn_id)
            self._start()
            self._changed.notify_all()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="turn-event-writer", daemon=True)
            self._thread.start()

    def queue(self, event: TurnEvent) -> bool:
        turn_id = event.turn_id
        with self._changed:
            if turn_id in self._failed:
                self._failed.discard(turn_id)
                self._open.discard(turn_id)  # the publisher stops using the log here
                raise EventLogUnavailable("redis")
            if len(self._queue) >= _MAX_PENDING:
                self._open.discard(turn_id)
                raise EventLogUnavailable("redis: too many events waiting to be written")
            self._queue.append(event)
            self._unwritten[turn_id] += 1
            self._start()
            self._changed.notify_all()
            return turn_id in self._stops

    def stop_requested(self, turn_id: str) -> None:
        with self._changed:
            self._stops.add(turn_id)

    def settle(self, turn_id: str, *, forget: bool = False) -> None:
        """Waits until the turn's queued events are written; raises EventLogUnavailable if
        writing them failed (or they could not be written in time)."""
        with self._changed:
            settled = self._changed.wait_for(
                lambda: not self._unwritten[turn_id], timeout=self._settle_s
            )
            failed = turn_id in self._failed or not settled
            if forget or failed:
                self._failed.discard(turn_id)
                self._stops.discard(turn_id)
                self._open.discard(turn_id)
                del self._unwritten[turn_id]
        if failed:
            raise EventLogUnavailable("redis")

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._queue and not self._stopping:
                    # Woken by an append, a newly open turn, a stop, or the poll's time.
                    self._changed.wait(timeout=self._poll_s if self._open else None)
                if self._stopping and not self._queue:
                    self._thread, self._stopping = None, False
                    self._open.clear()
                    return
                queued = bool(self._queue)
            if queued:
                # What the other turns append meanwhile goes in the same batch: a few
                # hundred wake-ups a second at most, whatever the number of turns.
                time.sleep(self._linger_s)
            with self._changed:
                batch, self._queue = self._queue, []
                now = time.monotonic()
                check: set[str] = set()
                if now - self._polled >= self._poll_s:
                    check, self._polled = set(self._open), now
            if not batch and not check:
                continue
            try:
                stops = self._write(batch, check)
                failed: set[str] = set()
            except EventLogUnavailable:
                stops, failed = set(), {event.turn_id for event in batch}
                if failed:
                    logger.warning("turn events could not be written", extra={"turns": len(failed)})
                else:  # a stop poll alone lost nothing: poll again later, not at once
                    with self._changed:
                        self._polled = time.monotonic() + _POLL_BACKOFF_S
            except Exception:  # the writer must outlive anything a batch meets
                stops, failed = set(), {event.turn_id for event in batch}
                logger.exception("turn events could not be written")
            with self._changed:
                self._stops |= stops & (self._open | {event.turn_id for event in batch})
                self._failed |= failed
                # A failed turn's later events are not written either: its copy in Redis
                # stays a prefix of the turn, never one with a gap.
                dropped = [event for event in self._queue if event.turn_id in failed]
                self._queue = [event for event in self._queue if event.turn_id not in failed]
                for event in (*batch, *dropped):
                    self._unwritten[event.turn_id] -= 1
                    if self._unwritten[event.turn_id] <= 0:  # below 0: a settle gave up on it
                        del self._unwritten[event.turn_id]
                self._changed.notify_all()


class _errors:
    """Turns redis-py's errors (a cluster's own included) into EventLogUnavailable, keeping
    the cause."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, REDIS_ERRORS):
            raise EventLogUnavailable("redis") from exc


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
