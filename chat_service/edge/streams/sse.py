"""Server-Sent Events framing of turn events: `id`, `event`, `data` (the proto TurnEvent as
JSON, lowerCamelCase names, int64 as strings, default values included, as
google.protobuf.json_format writes it; tests check that they agree)."""

from __future__ import annotations

from typing import Any

import orjson

from chat_service.core.turn_events import (
    EventBody,
    TextDelta,
    TitleReady,
    ToolCallFinished,
    ToolCallStarted,
    TurnCancelled,
    TurnCompleted,
    TurnEvent,
    TurnFailed,
    TurnStarted,
)
from chat_service.core.usage import ModelCall, UsageTotals

HEARTBEAT = b": keep-alive\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def sse_frame(event: TurnEvent) -> bytes:
    """Returns the event as one SSE message."""
    data = orjson.dumps(event_json(event))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.seq, event.kind.encode(), data)


def event_json(event: TurnEvent) -> dict[str, Any]:
    """Returns the proto JSON of the TurnEvent message of `event`."""
    return {
        "seq": str(event.seq),
        "turnId": event.turn_id,
        _CAMEL[event.kind]: _body_json(event.body, event.turn_id),
    }


_CAMEL = {
    "started": "started",
    "title": "title",
    "delta": "delta",
    "tool_call_started": "toolCallStarted",
    "tool_call_finished": "toolCallFinished",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}


def _body_json(body: EventBody, turn_id: str) -> dict[str, Any]:
    match body:
        case TurnStarted():
            return {
                "conversationId": body.conversation_id,
                "newConversation": body.new_conversation,
                "title": body.title,
            }
        case TitleReady():
            return {"title": body.title}
        case TextDelta():
            return {"text": body.text}
        case ToolCallStarted():
            return {"id": body.id, "name": body.name, "arguments": body.arguments}
        case ToolCallFinished():
            return {"id": body.id, "name": body.name, "ok": body.ok, "error": body.error}
        case TurnCompleted():
            return {body.method: completed_response_json(body, turn_id)}
        case TurnFailed():
            return {"code": body.code, "msg": body.msg, "meta": dict(body.meta)}
        case TurnCancelled():
            return {"conversationId": body.conversation_id, "partialText": body.partial_text}
    raise AssertionError(f"unknown event body {body!r}")


def completed_response_json(body: TurnCompleted, turn_id: str) -> dict[str, Any]:
    """Returns the response JSON a completed turn carries (of StartConversation,
    ContinueConversation, RegenerateReply or EditLastMessage, by `body.method`)."""
    if body.method in ("regenerate", "edit"):
        return {
            "reply": body.reply,
            "conversationId": body.conversation_id,
            "usage": _usage_json(UsageTotals.of(body.calls)),
            "turnId": turn_id,
        }
    if body.method == "start":
        return {
            "conversationId": body.conversation_id,
            "title": body.title,
            "reply": body.reply,
            "usage": _usage_json(UsageTotals.of(body.calls)),
            "turnId": turn_id,
        }
    return {
        "reply": body.reply,
        "conversationId": body.conversation_id,
        "newConversation": body.new_conversation,
        "title": body.title,
        "usage": _usage_json(UsageTotals.of(body.calls)),
        "turnId": turn_id,
    }


def _usage_json(usage: UsageTotals) -> dict[str, Any]:
    """The proto JSON of MessageUsage (int64 as strings)."""
    return {
        "provider": usage.provider,
        "model": usage.model,
        "inputTokens": str(usage.input_tokens),
        "outputTokens": str(usage.output_tokens),
        "costUsd": usage.cost_usd,
        "latencyMs": str(usage.latency_ms),
        "cached": usage.cached,
        "calls": [_call_json(call) for call in usage.calls],
    }


def _call_json(call: ModelCall) -> dict[str, Any]:
    return {
        "operation": call.operation,
        "provider": call.provider,
        "model": call.model,
        "inputTokens": str(call.input_tokens),
        "outputTokens": str(call.output_tokens),
        "costUsd": call.cost_usd,
        "latencyMs": str(call.latency_ms),
        "cached": call.cached,
    }
