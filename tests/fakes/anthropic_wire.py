"""Anthropic Messages API wire format for the fake server: replies, errors and request checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes.sse_stream import Failure, SseEvent, fragments, word_pieces

JSON = dict[str, Any]


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: Mapping[str, Any]
    id: str = ""


@dataclass(frozen=True)
class MessageReply:
    """A successful message: text and/or tool_use blocks.

    With `fail_after_deltas`, a streamed answer breaks once that many deltas were sent
    (`failure`: "error" sends an `error` event, "drop" cuts the connection); a non-streaming
    request for it gets its connection dropped.
    """

    text: str = ""
    tool_uses: tuple[ToolUse, ...] = ()
    usage: tuple[int, int] = (10, 5)
    fail_after_deltas: int | None = None
    failure: Failure = "error"


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error in Anthropic's shape; `retry_after` sets the Retry-After header."""

    status: int
    message: str = "scripted error"
    retry_after: float | None = None

    def body(self) -> JSON:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(self.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": self.message}}


Scripted = MessageReply | ErrorReply


def message_json(reply: MessageReply, request: JSON, *, message_id: str) -> JSON:
    content: list[JSON] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for use in reply.tool_uses:
        content.append(
            {"type": "tool_use", "id": use.id, "name": use.name, "input": dict(use.input)}
        )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "claude-fake"),
        "content": content,
        "stop_reason": "tool_use" if reply.tool_uses else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.usage[0], "output_tokens": reply.usage[1]},
    }


def stream_events(message: JSON) -> list[SseEvent]:
    """Returns the Messages API's SSE events streaming `message`.

    `message_start` (the message without content, input usage), then per block
    `content_block_start`, its deltas (`text_delta` word by word, `input_json_delta`
    fragments of the tool input) and `content_block_stop`, a `ping`, then `message_delta`
    (stop reason, output usage) and `message_stop`.
    """
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {"input_tokens": usage["input_tokens"], "output_tokens": 1}
    events = [_event("message_start", {"message": start}), _event("ping", {})]
    for index, block in enumerate(message["content"]):
        opening: JSON
        if block["type"] == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": t} for t in word_pieces(block["text"])]
        else:
            opening = {**block, "input": {}}
            arguments = fragments(json.dumps(block["input"]))
            deltas = [{"type": "input_json_delta", "partial_json": f} for f in arguments]
        events.append(_event("content_block_start", {"index": index, "content_block": opening}))
        events += [
            _event("content_block_delta", {"index": index, "delta": d}, delta=True) for d in deltas
        ]
        events.append(_event("content_block_stop", {"index": index}))
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(
        _event("message_delta", {"delta": stop, "usage": {"output_tokens": usage["output_tokens"]}})
    )
    events.append(_event("message_stop", {}))
    return events


def stream_error_event(kind: str, message: str) -> str:
    """Returns the `error` event the API sends when a stream fails after it started."""
    return _event("error", {"error": {"type": kind, "message": message}}).wire


def _event(name: str, fields: JSON, *, delta: bool = False) -> SseEvent:
    return SseEvent(f"event: {name}\ndata: {json.dumps({'type': name, **fields})}\n\n", delta)


def request_problems(body: Any) -> list[str]:
    """Returns why the real Messages API would refuse `body` (400), [] if it would accept it.

    Checks the rules a chat client can break: required fields, roles, the first message
    being the user's, every tool_use answered by a tool_result in the very next user
    message, and every tool_result answering a tool_use of the message just before.
    """
    if not isinstance(body, dict):
        return ["body must be an object"]
    problems = [
        f"{k}: Field required" for k in ("model", "max_tokens", "messages") if k not in body
    ]
    messages = body.get("messages") or []
    if not messages:
        return [*problems, "messages: at least one message is required"]
    if messages[0].get("role") != "user":
        problems.append("messages.0: the first message must use the user role")
    previous_uses: set[str] = set()
    for index, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant"):
            problems.append(f"messages.{index}.role: must be user or assistant")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        if isinstance(content, str) and not content.strip() and role == "assistant":
            problems.append(f"messages.{index}: assistant content must be non-empty")
        results = {str(b.get("tool_use_id")) for b in blocks if b.get("type") == "tool_result"}
        if role == "user" and previous_uses - results:
            problems.append(
                f"messages.{index}: tool_use ids without tool_result: {sorted(previous_uses - results)}"
            )
        if results - previous_uses:
            problems.append(
                f"messages.{index}: tool_result for unknown tool_use ids {sorted(results - previous_uses)}"
            )
        previous_uses = (
            {b["id"] for b in blocks if b.get("type") == "tool_use"}
            if role == "assistant"
            else set()
        )
    if previous_uses:
        problems.append("the last message has tool_use blocks without results")
    return problems
