"""A worker's live copy of a turn: bounded, never blocking the turn; a reader that fell behind
catches up from the event log, each event once and in order."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

from chat_service.adapters.memory.turn_events import MemoryTurnEventLog, MemoryTurnRecords
from chat_service.core.availability import RedisAvailability
from chat_service.core.turn_events import (
    TextDelta,
    TurnCompleted,
    TurnEvent,
    TurnStarted,
    new_turn_id,
)
from chat_service.edge.streams.endpoint import StreamEndpoints
from chat_service.edge.streams.live import LiveTurn
from chat_service.edge.streams.open_streams import OpenStreams
from chat_service.edge.streams.sse import HEARTBEAT, sse_frame


def _turn(turn_id: str, deltas: int) -> list[TurnEvent]:
    events = [TurnEvent(turn_id, 1, TurnStarted("a" * 24, True, ""))]
    events += [TurnEvent(turn_id, i + 2, TextDelta(f"{i} ")) for i in range(deltas)]
    events.append(TurnEvent(turn_id, deltas + 2, TurnCompleted("start", "a" * 24, "r", "", True)))
    return events


def _endpoints(log: MemoryTurnEventLog, heartbeat_s: float = 5.0) -> StreamEndpoints:
    return StreamEndpoints(
        cast(Any, None),  # the live and logged readers do not start turns
        log=log,
        records=MemoryTurnRecords(),
        open_streams=OpenStreams(None, limit=0, availability=RedisAvailability()),
        max_body_bytes=1024,
        heartbeat_s=heartbeat_s,
    )


async def _read(endpoints: StreamEndpoints, live: LiveTurn, after: int = 0) -> list[bytes]:
    return [chunk async for chunk in endpoints._live(live, after)]


def test_the_live_copy_holds_only_the_newest_events():
    async def main() -> None:
        turn_id = new_turn_id()
        live = LiveTurn(turn_id, "alice", asyncio.get_running_loop(), capacity=4)
        events = _turn(turn_id, 8)
        for event in events:
            live.push(event)
        assert live.after(len(events) - 4) == events[-4:]
        assert live.after(len(events) - 5) is None  # fell out: read the log
        assert live.after(len(events)) == []
        assert live.ended

    asyncio.run(main())


def test_a_reader_that_fell_behind_catches_up_from_the_log_once_and_in_order():
    async def main() -> None:
        turn_id = new_turn_id()
        log = MemoryTurnEventLog()
        live = LiveTurn(turn_id, "alice", asyncio.get_running_loop(), capacity=3)
        events = _turn(turn_id, 20)
        for event in events:  # the turn ran ahead of a reader that had not read yet
            live.push(event)
            log.append(event)
        chunks = await _read(_endpoints(log), live)
        assert b"".join(chunks) == b"".join(sse_frame(e) for e in events)
        rest = await _read(_endpoints(log), live, after=15)
        assert b"".join(rest) == b"".join(sse_frame(e) for e in events[15:])
        assert await _read(_endpoints(log), live, after=len(events)) == []

    asyncio.run(main())


def test_the_turn_never_waits_for_its_readers_and_they_follow_it_live():
    async def main() -> None:
        turn_id = new_turn_id()
        log = MemoryTurnEventLog()
        live = LiveTurn(turn_id, "alice", asyncio.get_running_loop(), capacity=1000)
        events = _turn(turn_id, 50)

        def produce() -> None:  # the turn's thread: push never blocks
            for event in events:
                log.append(event)
                live.push(event)

        reader = asyncio.ensure_future(_read(_endpoints(log, heartbeat_s=0.05), live))
        await asyncio.sleep(0.1)  # idle: heartbeats
        producer = threading.Thread(target=produce)
        producer.start()
        chunks = await reader
        producer.join()
        assert HEARTBEAT in chunks
        sent = b"".join(c for c in chunks if c != HEARTBEAT)
        assert sent == b"".join(sse_frame(e) for e in events)

    asyncio.run(main())
