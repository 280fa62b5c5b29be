"""The SSE framing of turn events agrees with the proto's JSON mapping (what clients parse)."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format

from chat_service.core.turn_events import (
    TextDelta,
    TitleReady,
    ToolCallFinished,
    ToolCallStarted,
    TurnCancelled,
    TurnCompleted,
    TurnEvent,
    TurnFailed,
    TurnStarted,
    decode_event,
    encode_event,
    new_turn_id,
)
from chat_service.core.usage import ModelCall, UsageTotals
from chat_service.edge.streams.sse import sse_frame
from chat_service.edge.turn_messages import message_usage
from gen.acai.chat import chat_pb2 as pb

TURN = new_turn_id()
BODIES = [
    TurnStarted("6b11476c793b25d230089b4b", True, ""),
    TurnStarted("6b11476c793b25d230089b4b", False, "Weather in Paris"),
    TitleReady("Weather in Paris"),
    TextDelta('It is "sunny"\nand 21 °C ☀'),
    TextDelta(""),
    ToolCallStarted("call_1", "get_weather", '{"city": "Paris"}'),
    ToolCallFinished("call_1", "get_weather", True, ""),
    ToolCallFinished("call_2", "get_weather", False, "upstream down"),
    TurnCompleted("start", "6b11476c793b25d230089b4b", "It is sunny.", "Paris", True),
    TurnCompleted("continue", "6b11476c793b25d230089b4b", "More.", "", False),
    TurnCompleted("continue", "6b11476c793b25d230089b4b", "New.", "A title", True),
    TurnCompleted(
        "start",
        "6b11476c793b25d230089b4b",
        "Priced.",
        "T",
        True,
        (
            ModelCall("title", "openai", "gpt-test", 12, 3, 0.00015, 40),
            ModelCall("reply", "openai", "gpt-test", 120, 30, 1.5, 900, cached=True),
        ),
    ),
    TurnFailed("unavailable", "every provider is down", {}),
    TurnFailed("aborted", "gave up", {"reason": "tool_rounds_exhausted"}),
    TurnCancelled("6b11476c793b25d230089b4b", "It is su"),
    TurnCancelled("", ""),
]


def _proto(event: TurnEvent) -> pb.TurnEvent:
    message = pb.TurnEvent(seq=event.seq, turn_id=event.turn_id)
    body = event.body
    match body:
        case TurnStarted():
            message.started.CopyFrom(
                pb.TurnStarted(
                    conversation_id=body.conversation_id,
                    new_conversation=body.new_conversation,
                    title=body.title,
                )
            )
        case TitleReady():
            message.title.title = body.title
        case TextDelta():
            message.delta.SetInParent()
            message.delta.text = body.text
        case ToolCallStarted():
            message.tool_call_started.CopyFrom(
                pb.ToolCallStarted(id=body.id, name=body.name, arguments=body.arguments)
            )
        case ToolCallFinished():
            message.tool_call_finished.CopyFrom(
                pb.ToolCallFinished(id=body.id, name=body.name, ok=body.ok, error=body.error)
            )
        case TurnCompleted() if body.method == "start":
            message.completed.start.CopyFrom(
                pb.StartConversationResponse(
                    conversation_id=body.conversation_id,
                    title=body.title,
                    reply=body.reply,
                    usage=message_usage(UsageTotals.of(body.calls)),
                    turn_id=event.turn_id,
                )
            )
        case TurnCompleted():
            getattr(message.completed, "continue").CopyFrom(
                pb.ContinueConversationResponse(
                    reply=body.reply,
                    conversation_id=body.conversation_id,
                    new_conversation=body.new_conversation,
                    title=body.title,
                    usage=message_usage(UsageTotals.of(body.calls)),
                    turn_id=event.turn_id,
                )
            )
        case TurnFailed():
            message.failed.CopyFrom(pb.TurnFailed(code=body.code, msg=body.msg, meta=body.meta))
        case TurnCancelled():
            message.cancelled.CopyFrom(
                pb.TurnCancelled(
                    conversation_id=body.conversation_id, partial_text=body.partial_text
                )
            )
    return message


def _parse(frame: bytes) -> tuple[str, str, str]:
    assert frame.endswith(b"\n\n")
    lines = frame.decode().removesuffix("\n\n").split("\n")
    assert [line.split(":", 1)[0] for line in lines] == ["id", "event", "data"]
    return tuple(line.split(": ", 1)[1] for line in lines)  # type: ignore[return-value]


@pytest.mark.parametrize("body", BODIES, ids=lambda b: type(b).__name__)
def test_each_event_is_one_sse_message_of_the_protos_json(body):
    event = TurnEvent(TURN, 7, body)
    event_id, kind, data = _parse(sse_frame(event))
    assert event_id == "7"
    assert kind == event.kind == _proto(event).WhichOneof("event")
    expected = json_format.MessageToDict(_proto(event), always_print_fields_with_no_presence=True)
    assert json.loads(data) == expected
    parsed = json_format.Parse(data, pb.TurnEvent())
    assert parsed == _proto(event)


@pytest.mark.parametrize("body", BODIES, ids=lambda b: type(b).__name__)
def test_the_stores_encoding_reads_back_the_same_event(body):
    event = TurnEvent(TURN, 3, body)
    assert decode_event(encode_event(event)) == event


def test_garbage_is_not_an_event():
    for text in ("{}", '{"t": "x", "s": 1, "k": "nope", "b": {}}', '{"k": "delta"}'):
        with pytest.raises(ValueError, match="not an encoded turn event"):
            decode_event(text)
