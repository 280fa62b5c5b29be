"""The SDK's streamed turns against the real app (sync and async): events, cancel, resume."""

from __future__ import annotations

import threading
import time

import pytest

from chat_client import (
    ChatClient,
    InvalidArgument,
    NotFound,
    RetryPolicy,
    TextDelta,
    TitleReady,
    TurnCancelled,
    TurnCompleted,
    TurnStarted,
)
from tests.fakes.chat_clients import make_client
from tests.fakes.sse_stream import Pacing

FAST = RetryPolicy(retries=2, backoff_base_s=0.001, backoff_max_s=0.01)


@pytest.fixture(params=["sync", "async"])
def sdk(request, server_url):
    return make_client(request.param, server_url, retry=FAST, reattach=FAST, timeout_s=30)


def test_a_streamed_start_and_continue_match_what_describe_shows(sdk):
    events = list(sdk.stream_conversation("hello stream"))
    assert isinstance(events[0], TurnStarted)
    assert events[0].new_conversation is True
    done = events[-1]
    assert isinstance(done, TurnCompleted)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == done.reply
    assert done.reply == "echo: hello stream"
    assert any(isinstance(e, TitleReady) for e in events)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    more = list(sdk.stream_continue(done.conversation_id, "again"))
    assert isinstance(more[-1], TurnCompleted)
    assert more[-1].reply == "echo: again"
    conversation = sdk.get_conversation(done.conversation_id)
    assert [m.content for m in conversation.messages] == [
        "hello stream",
        done.reply,
        "again",
        "echo: again",
    ]
    assert {m.finish_reason for m in conversation.messages} == {""}


def test_a_streamed_regenerate_and_edit_match_what_describe_shows(sdk):
    started = sdk.start_conversation("first try")
    regenerated = list(sdk.stream_regenerate(started.conversation_id))
    assert isinstance(regenerated[0], TurnStarted)
    assert regenerated[0].new_conversation is False
    done = regenerated[-1]
    assert isinstance(done, TurnCompleted)
    assert (done.method, done.reply) == ("regenerate", "echo: first try")
    assert "".join(e.text for e in regenerated if isinstance(e, TextDelta)) == done.reply
    edited = list(sdk.stream_edit(started.conversation_id, "second try"))
    assert isinstance(edited[-1], TurnCompleted)
    assert (edited[-1].method, edited[-1].reply) == ("edit", "echo: second try")
    conversation = sdk.get_conversation(started.conversation_id)
    assert [(m.content, m.inactive) for m in conversation.messages] == [
        ("first try", True),
        (started.reply, True),
        (done.reply, True),
        ("second try", False),
        ("echo: second try", False),
    ]
    with pytest.raises(NotFound):
        sdk.stream_regenerate("f" * 24)


def test_refusals_raise_before_any_event(sdk):
    with pytest.raises(InvalidArgument):
        sdk.stream_conversation("   ")
    with pytest.raises(NotFound):
        sdk.stream_continue("f" * 24, "hello")
    with pytest.raises(NotFound):
        sdk.stream_turn("f" * 32)


def test_a_stream_left_early_is_attached_again_and_a_stop_is_stored(server_url, fake_openai):
    fake_openai.pacing = Pacing(first_token_delay_s=0.05, token_gap_s=0.2)
    with ChatClient(server_url, retry=FAST, reattach=FAST) as client:
        started = client.start_conversation("before")
        stream = client.stream_continue(started.conversation_id, "one two three four five six")
        seen = []
        for event in stream:
            seen.append(event)
            if isinstance(event, TextDelta):
                break
        stream.close()
        again = client.stream_turn(stream.turn_id, after=stream.last_seq)
        rest = []
        for event in again:
            rest.append(event)
            if isinstance(event, TextDelta) and len(rest) > 1:
                threading.Thread(target=client.cancel_turn, args=(stream.turn_id,)).start()
        assert [e.seq for e in seen + rest] == list(range(1, len(seen) + len(rest) + 1))
        cancelled = rest[-1]
        assert isinstance(cancelled, TurnCancelled)
        sent = "".join(e.text for e in seen + rest if isinstance(e, TextDelta))
        assert cancelled.partial_text == sent
        assert client.cancel_turn(stream.turn_id).cancelled is False
        # Stored as the turn ends, a moment after CancelTurn answered.
        deadline = time.monotonic() + 10
        while len(messages := client.get_conversation(started.conversation_id).messages) < 4:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        last = messages[-1]
        assert (last.content, last.finish_reason) == (sent, "cancelled")
