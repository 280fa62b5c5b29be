"""TurnProgress: events once and in order across connections, bounded reattach backoff."""

from __future__ import annotations

import pytest

from chat_client import (
    InvalidArgument,
    NotFound,
    RetryPolicy,
    StreamBroken,
    TextDelta,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
)
from chat_client.errors import ConnectionFailed, Unavailable
from chat_client.turn_progress import TurnProgress
from gen.acai.chat import chat_pb2 as pb
from tests.fakes.sse_source import TURN_ID, sse, turn_events

EVENTS = turn_events(text="one two")
FRAMES = [sse(e) for e in EVENTS]
POLICY = RetryPolicy(retries=3, backoff_base_s=1.0, backoff_max_s=3.0)


def progress() -> TurnProgress:
    return TurnProgress(TURN_ID, reattach=POLICY, jitter=lambda low, high: high)


def test_events_are_typed():
    got = progress().feed(b"".join(FRAMES))
    assert [type(e).__name__ for e in got] == [
        "TurnStarted",
        "TitleReady",
        "TextDelta",
        "TextDelta",
        "TurnCompleted",
    ]
    assert got[0] == TurnStarted(1, TURN_ID, "c" * 24, True, "")
    assert got[2] == TextDelta(3, TURN_ID, "one")
    done = got[-1]
    assert isinstance(done, TurnCompleted)
    assert done.terminal
    assert (done.method, done.reply, done.title, done.new_conversation) == (
        "start",
        "one two",
        "Greetings",
        True,
    )


def test_a_resumed_connection_repeats_nothing_and_the_terminal_event_ends_it():
    reading = progress()
    assert [e.seq for e in reading.feed(b"".join(FRAMES[:3]))] == [1, 2, 3]
    reading.connected()
    assert [e.seq for e in reading.feed(b"".join(FRAMES[1:]))] == [4, 5]
    assert reading.ended
    assert reading.last_seq == 5
    assert reading.feed(sse(pb.TurnEvent(seq=6, turn_id=TURN_ID, delta={"text": "x"}))) == []


def test_unknown_event_kinds_are_skipped_but_advance():
    reading = progress()
    unknown = b'id: 1\nevent: usage\ndata: {"seq":"1","turnId":"%s","usage":{}}\n\n' % (
        TURN_ID.encode()
    )
    assert reading.feed(unknown) == []
    assert reading.last_seq == 1


def test_a_failed_event_carries_the_sdks_error():
    failed = pb.TurnEvent(
        seq=2, turn_id=TURN_ID, failed={"code": "invalid_argument", "msg": "no", "meta": {"a": "b"}}
    )
    (event,) = progress().feed(sse(failed))
    assert isinstance(event, TurnFailed)
    assert event.terminal
    assert isinstance(event.error, InvalidArgument)
    assert (event.error.msg, event.error.meta) == ("no", {"a": "b"})


def test_backoff_doubles_to_its_cap_and_resets_when_the_stream_moves():
    reading = progress()
    drop = ConnectionFailed("gone", before_send=False)
    assert [reading.retry_delay_s(drop) for _ in range(3)] == [1.0, 2.0, 3.0]
    with pytest.raises(StreamBroken) as raised:
        reading.retry_delay_s(drop)
    assert (raised.value.turn_id, raised.value.last_seq) == (TURN_ID, 0)
    reading.feed(FRAMES[0])
    assert reading.retry_delay_s(Unavailable("later")) == 1.0


def test_a_refused_resume_is_final():
    with pytest.raises(NotFound):
        progress().retry_delay_s(NotFound("turn not found"))
