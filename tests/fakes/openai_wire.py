"""Scripted replies of the fake OpenAI server and their Chat Completions wire JSON."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes.sse_stream import Failure, SseEvent, fragments, word_pieces

JSON = dict[str, Any]


@dataclass(frozen=True)
class FakeToolCall:
    """One function call in a scripted reply; `arguments` is JSON text."""

    name: str
    arguments: str
    call_id: str = ""


@dataclass(frozen=True)
class Reply:
    """A successful completion: text and/or tool calls; usage is estimated when None.

    With `fail_after_deltas`, a streamed answer breaks once that many deltas were sent
    (`failure`: "drop" cuts the connection, "error" sends an error chunk); a non-streaming
    request for it gets its connection dropped.
    """

    content: str | None = None
    tool_calls: tuple[FakeToolCall, ...] = ()
    usage: tuple[int, int] | None = None  # (prompt_tokens, completion_tokens)
    fail_after_deltas: int | None = None
    failure: Failure = "drop"


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error in OpenAI's error shape; `retry_after` sets the Retry-After header."""

    status: int
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None

    def body(self) -> JSON:
        """Returns `{"error": {message, type, param, code}}`."""
        error = {"message": self.message, "type": self.type, "param": self.param}
        return {"error": {**error, "code": self.code}}


@dataclass(frozen=True)
class Hang:
    """Answers nothing for `seconds` (longer than the client's timeout), then drops the line."""

    seconds: float = 30.0


@dataclass(frozen=True)
class RawReply:
    """Any JSON body with any status, for responses a real provider should never send."""

    body: JSON
    status: int = 200


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake server received it; header names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    json: JSON


Scripted = Reply | ErrorReply | Hang | RawReply
Responder = Callable[[JSON], "Scripted | str"]

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def error_reply(
    status: int,
    message: str = "",
    *,
    type: str | None = None,  # named as the wire field
    code: str | None = None,
    param: str | None = None,
    retry_after: float | None = None,
) -> ErrorReply:
    """Returns an ErrorReply whose type and code default to what OpenAI sends for `status`."""
    default_type, default_code = _ERROR_TYPES.get(status, ("server_error", None))
    return ErrorReply(
        status=status,
        message=message or f"The fake server was scripted to answer {status}.",
        type=type or default_type,
        code=code if code is not None else default_code,
        param=param,
        retry_after=retry_after,
    )


def tool_call_reply(name: str, arguments: Mapping[str, Any] | str, *, call_id: str = "") -> Reply:
    """Returns a reply calling one function; an empty `call_id` gets "call_<n>" when served."""
    return tool_calls_reply((name, arguments, call_id))


def tool_calls_reply(*calls: tuple[str, Mapping[str, Any] | str, str]) -> Reply:
    """Returns a reply calling several functions at once, each as (name, arguments, call_id)."""
    return Reply(tool_calls=tuple(FakeToolCall(n, _json_text(a), i) for n, a, i in calls))


def as_scripted(item: Scripted | str) -> Scripted:
    """Returns `item`, reading a plain string as a text reply."""
    return Reply(content=item) if isinstance(item, str) else item


def echo_responder(request: JSON) -> Scripted | str:
    """The default responder: "echo: " and the text of the last user message."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return f"echo: {message_text(users[-1]) if users else ''}"


def words_responder(count: int) -> Responder:
    """Returns a responder answering `count` words ("w1 w2 …"), e.g. 60 tokens to stream."""
    answer = " ".join(f"w{i}" for i in range(1, count + 1))
    return lambda request: answer


def message_text(message: Mapping[str, Any]) -> str:
    """Returns a wire message's text, whether `content` is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def completion_json(reply: Reply, request: JSON, *, completion_id: str, created: int) -> JSON:
    """Returns the `chat.completion` object answering `request` with `reply`."""
    message: JSON = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [_tool_call_json(c) for c in reply.tool_calls]
    prompt_tokens, completion_tokens = reply.usage or _estimate_usage(reply, request)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": request.get("model", "fake-model"),
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def stream_events(completion: JSON, *, include_usage: bool) -> list[SseEvent]:
    """Returns the SSE events that stream `completion` as `chat.completion.chunk`s.

    As the API does: a first chunk with the role, the text word by word, tool calls as
    deltas naming their `index` (id, type and name in the first, then argument fragments;
    the fragments of several calls interleave, which the format allows), a last chunk with
    the finish reason, the usage chunk when asked for, and `[DONE]`.
    """
    choice = completion["choices"][0]
    message = choice["message"]
    base = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def event(choices: list[JSON], **extra: Any) -> str:
        return f"data: {json.dumps({**base, 'choices': choices, **extra})}\n\n"

    def delta(fields: JSON, finish: str | None = None) -> SseEvent:
        choices = [{"index": 0, "delta": fields, "logprobs": None, "finish_reason": finish}]
        return SseEvent(
            event(choices), delta=bool(fields.get("content") or fields.get("tool_calls"))
        )

    events = [delta({"role": "assistant", "content": ""})]
    events += [delta({"content": piece}) for piece in word_pieces(message["content"] or "")]
    events += [delta({"tool_calls": [part]}) for part in _tool_call_parts(message)]
    events.append(delta({}, choice["finish_reason"]))
    if include_usage:
        events.append(SseEvent(event([], usage=completion["usage"])))
    events.append(SseEvent("data: [DONE]\n\n"))
    return events


def stream_error_event(message: str) -> str:
    """Returns the error chunk the API sends when a stream fails after it started."""
    error = {"message": message, "type": "server_error", "param": None, "code": None}
    return f"data: {json.dumps({'error': error})}\n\n"


def _tool_call_parts(message: JSON) -> list[JSON]:
    heads: list[JSON] = []
    tails: list[list[JSON]] = []
    for index, call in enumerate(message.get("tool_calls", [])):
        function = call["function"]
        heads.append(
            {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": function["name"], "arguments": ""},
            }
        )
        tails.append(
            [
                {"index": index, "function": {"arguments": f}}
                for f in fragments(function["arguments"])
            ]
        )
    interleaved = [part for round_ in itertools.zip_longest(*tails) for part in round_ if part]
    return heads + interleaved


def _tool_call_json(call: FakeToolCall) -> JSON:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.call_id, "type": "function", "function": function}


def _estimate_usage(reply: Reply, request: JSON) -> tuple[int, int]:
    # About one token per word: deterministic, good enough for accounting tests.
    prompt = sum(len(message_text(m).split()) + 3 for m in request.get("messages", []))
    output = len((reply.content or "").split())
    output += sum(len(c.arguments.split()) + 3 for c in reply.tool_calls)
    return prompt, output


def _json_text(arguments: Mapping[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(dict(arguments))


def chat_request_problems(body: JSON) -> list[str]:
    """Returns why OpenAI would refuse these messages (400), [] if it would accept them.

    The rule a chat client can break: an assistant message with `tool_calls` must be
    followed by tool messages answering each `tool_call_id`, and a tool message must
    answer a call of the assistant message before it.
    """
    problems: list[str] = []
    pending: set[str] = set()
    answerable: set[str] = set()
    for index, message in enumerate(body.get("messages", [])):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in answerable:
                problems.append(
                    f"messages.[{index}]: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'."
                )
            pending.discard(call_id)
            continue
        if pending:
            problems.append(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(sorted(pending))}"
            )
        calls = message.get("tool_calls") or [] if role == "assistant" else []
        pending = {c["id"] for c in calls}
        answerable = set(pending)
    if pending:
        problems.append(f"tool_call_ids without response messages: {', '.join(sorted(pending))}")
    return problems
