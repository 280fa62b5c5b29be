"""EventWriter, the Redis event log's write-behind: batches in order, stops, and failures that
leave a turn's copy a prefix of it (never one with a gap)."""

from __future__ import annotations

import threading
import time

import pytest

from chat_service.adapters.redis.turn_events import EventWriter
from chat_service.core.turn_events import TextDelta, TurnEvent
from chat_service.ports.turn_events import EventLogUnavailable


def _delta(turn_id: str, seq: int) -> TurnEvent:
    return TurnEvent(turn_id, seq, TextDelta(f"t{seq} "))


class _Redis:
    """Stands for Redis behind `write`: keeps what was written; a batch can be held or fail."""

    def __init__(self) -> None:
        self.written: list[TurnEvent] = []
        self.batches = 0
        self.stops: set[str] = set()
        self.fail = False
        self.entered = threading.Event()
        self.go_on = threading.Event()
        self.go_on.set()

    def write(self, batch: list[TurnEvent], check=()) -> set[str]:
        self.batches += 1
        self.entered.set()
        self.go_on.wait(5)
        if self.fail:
            raise EventLogUnavailable("redis")
        self.written.extend(batch)
        return ({e.turn_id for e in batch} | set(check)) & self.stops


def test_appends_of_many_turns_are_written_in_order_in_few_batches():
    redis = _Redis()
    writer = EventWriter(redis.write, linger_s=0.01)
    events = [_delta(turn, seq) for seq in range(2, 52) for turn in ("a", "b", "c")]
    for event in events:
        assert writer.queue(event) is False
    writer.settle("a")
    writer.settle("b")
    writer.settle("c")
    assert redis.written == events
    assert redis.batches < len(events) // 10


def test_a_stop_that_redis_reports_is_returned_by_the_turns_next_append():
    redis = _Redis()
    writer = EventWriter(redis.write, linger_s=0)
    redis.stops.add("a")
    assert writer.queue(_delta("a", 2)) is False
    writer.settle("a")
    assert writer.queue(_delta("a", 3)) is True
    assert writer.queue(_delta("b", 2)) is False


def test_the_stop_of_an_open_turn_waiting_for_its_provider_is_known_before_its_next_delta():
    redis = _Redis()
    writer = EventWriter(redis.write, linger_s=0, poll_s=0.01)
    writer.opened("c")  # an earlier turn: the writer runs, and waits for none once it ended
    writer.settle("c", forget=True)
    time.sleep(0.05)
    writer.opened("a")  # its first event was written; no delta yet
    writer.opened("b")
    redis.stops.add("a")
    deadline = time.monotonic() + 5
    while redis.batches < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert redis.written == []  # polls write nothing
    assert writer.queue(_delta("a", 2)) is True
    assert writer.queue(_delta("b", 2)) is False
    writer.settle("a", forget=True)
    writer.settle("b", forget=True)


def test_a_failed_batch_drops_the_turns_queued_events_and_its_next_call_raises_once():
    redis = _Redis()
    writer = EventWriter(redis.write, linger_s=0)
    redis.go_on.clear()
    writer.queue(_delta("a", 2))
    assert redis.entered.wait(5)  # the writer holds seq 2; 3 and 4 wait in the queue
    writer.queue(_delta("a", 3))
    writer.queue(_delta("a", 4))
    writer.queue(_delta("b", 2))
    redis.fail = True
    redis.go_on.set()
    with pytest.raises(EventLogUnavailable):
        writer.settle("a")
    redis.fail = False
    writer.settle("b")
    assert [(e.turn_id, e.seq) for e in redis.written] == [("b", 2)]
    writer.queue(_delta("a", 5))  # after the raise the writer holds nothing of the turn
    writer.settle("a", forget=True)


def test_a_stopped_writer_ends_its_thread_after_writing_what_was_queued():
    redis = _Redis()
    writer = EventWriter(redis.write, linger_s=0, poll_s=0.01)
    writer.opened("a")
    writer.queue(_delta("a", 2))
    writer.stop()
    assert [e.seq for e in redis.written] == [2]
    polls = redis.batches
    time.sleep(0.1)
    assert redis.batches == polls  # no thread polls any more
    writer.queue(_delta("a", 3))  # a later append starts another
    writer.settle("a", forget=True)
    assert [e.seq for e in redis.written] == [2, 3]


def test_a_writer_stopped_before_its_thread_ever_ran_still_polls_later_turns():
    redis = _Redis()
    writer = EventWriter(redis.write, linger_s=0, poll_s=0.01)
    writer.stop()
    writer.opened("a")
    redis.stops.add("a")
    deadline = time.monotonic() + 5
    while redis.batches < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.queue(_delta("a", 2)) is True
    writer.stop()
