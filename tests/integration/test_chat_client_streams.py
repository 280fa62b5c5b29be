"""The SDK's streamed turns over real HTTP, against a local fake of the stream endpoints:
SSE framing, reattachment after drops, refusals (sync and async)."""

from __future__ import annotations

import pytest

from chat_client import (
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    RetryPolicy,
    StreamBroken,
    TextDelta,
    TurnCompleted,
)
from tests.fakes.chat_clients import make_client
from tests.fakes.sse_source import TURN_ID, FakeSseSource, ScriptedTurn, turn_events

FAST = RetryPolicy(retries=2, backoff_base_s=0.001, backoff_max_s=0.01)
REATTACH = RetryPolicy(retries=3, backoff_base_s=0.001, backoff_max_s=0.01)
TEXT = "Hello there, friend, how are you today"


@pytest.fixture(scope="module")
def source():
    with FakeSseSource() as fake:
        yield fake


@pytest.fixture(params=["sync", "async"])
def sdk(request, source):
    return make_client(request.param, source.url, retry=FAST, reattach=REATTACH, timeout_s=5)


def turn(**options) -> ScriptedTurn:
    return ScriptedTurn(turn_events(text=TEXT), **options)


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def seqs(events) -> list[int]:
    return [e.seq for e in events]


@pytest.mark.parametrize(
    "options",
    [{}, {"crlf": True}, {"multiline": True}, {"comments": True}],
    ids=["lf", "crlf", "multiline-data", "comments"],
)
def test_a_turn_streams_every_event_in_order(source, sdk, options):
    source.script(turn(**options))
    events = list(sdk.stream_conversation("hi"))
    assert seqs(events) == list(range(1, len(events) + 1))
    assert text_of(events) == TEXT
    done = events[-1]
    assert isinstance(done, TurnCompleted)
    assert done.reply == TEXT
    method, path, _ = source.requests[-1]
    assert (method, path) == ("POST", "/stream/acai.chat.ChatService/StartConversation")


def test_drops_are_resumed_after_the_last_event_seen_each_event_once(source, sdk):
    source.script(turn(drop_after=[2, 5, 6], repeat_on_resume=True))
    before = len(source.requests)
    events = list(sdk.stream_continue("c" * 24, "hi"))
    assert seqs(events) == list(range(1, len(events) + 1))
    assert text_of(events) == TEXT
    resumes = source.requests[before + 1 :]
    assert [(m, p) for m, p, _ in resumes] == [("GET", f"/stream/turns/{TURN_ID}")] * 3
    assert [h.get("Last-Event-ID") for _, _, h in resumes] == ["2", "5", "6"]


def test_an_unavailable_resume_is_retried(source, sdk):
    source.script(turn(drop_after=[3], resume_errors=[(503, "unavailable")]))
    events = list(sdk.stream_conversation("hi"))
    assert text_of(events) == TEXT


def test_a_resume_answered_not_found_raises_it(source, sdk):
    source.script(turn(drop_after=[3], resume_errors=[(404, "not_found")]))
    with pytest.raises(NotFound):
        list(sdk.stream_conversation("hi"))


def test_reattachment_gives_up_after_its_attempts_naming_the_turn(source, sdk):
    source.script(turn(drop_after=[3, 3, 3, 3, 3], repeat_on_resume=True))
    with pytest.raises(StreamBroken) as raised:
        list(sdk.stream_conversation("hi"))
    assert (raised.value.turn_id, raised.value.last_seq) == (TURN_ID, 3)


def test_refusals_before_the_turn_starts_raise_the_sdks_errors(source, sdk):
    source.script((400, "invalid_argument"))
    with pytest.raises(InvalidArgument):
        sdk.stream_conversation("")
    source.script((429, "resource_exhausted"))
    with pytest.raises(ResourceExhausted):
        sdk.stream_conversation("hi")


def test_a_refusal_that_is_unavailable_is_retried(source, sdk):
    source.script((503, "unavailable"))
    source.script(turn())
    assert text_of(list(sdk.stream_conversation("hi"))) == TEXT


def test_attaching_to_a_turn_after_a_position(source, sdk):
    source.script(turn())
    list(sdk.stream_conversation("hi"))
    events = list(sdk.stream_turn(TURN_ID, after=4))
    assert seqs(events)[0] == 5
    assert isinstance(events[-1], TurnCompleted)
    with pytest.raises(NotFound):
        sdk.stream_turn("b" * 32)


def test_the_sync_stream_hangs_up_when_left(source):
    from chat_client import ChatClient

    source.script(turn())
    with ChatClient(source.url, retry=FAST) as client, client.stream_conversation("hi") as stream:
        assert stream.turn_id == TURN_ID
        first = next(iter(stream))
        assert first.seq == 1
    assert stream.last_seq == 1
