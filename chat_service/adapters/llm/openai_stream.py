"""Chat Completions answers read from their JSON: a streamed one assembled from its chunks
(text, tool calls and usage), and a whole one.

The chunks come as the JSON objects the SDK's `Stream[object]` yields, and a whole answer as
the SDK's `cast_to=object` gives it: building the SDK's typed `ChatCompletionChunk` for each
chunk cost ~80 µs of CPU, most of a streamed call's, and a typed `ChatCompletion` ~160 µs.
Compatible servers sometimes omit fields OpenAI always sends: nothing here requires them.
"""

from __future__ import annotations

from typing import Any

import httpx2

from chat_service.core.errors import ModelUnavailable
from chat_service.ports.chat_model import Completion, ToolCall, Usage

DRAIN_MAX_BYTES = 65_536


class _PartialCall:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []


class StreamedCompletion:
    """Collects the `chat.completion.chunk`s of one answer (first choice only).

    Text comes as `content` (or `refusal`) deltas; each tool call as deltas naming its
    `index`: id and name first, then fragments of its arguments, possibly interleaved with
    other calls' fragments. The finish reason comes with the choice's last chunk; usage
    (`include_usage`) with a last chunk of its own, without choices: `ended` from then on.
    """

    def __init__(self, *, model: str) -> None:
        self._model = model
        self._text: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._usage = Usage()
        self._finish_reason: str | None = None
        self._has_choice = False
        self.ended = False

    def add(self, chunk: object) -> str:
        """Takes the next chunk's JSON object; returns the text it adds ("" when none)."""
        if not isinstance(chunk, dict):
            return ""
        choices = chunk.get("choices")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = Usage(_count(usage, "prompt_tokens"), _count(usage, "completion_tokens"))
            self.ended = not choices
        if not choices or not isinstance(choices, list):
            return ""
        if not self._has_choice:
            self._has_choice = True
            model = chunk.get("model")
            self._model = model if isinstance(model, str) and model else self._model
        choice = choices[0]
        if not isinstance(choice, dict):
            return ""
        finish_reason = choice.get("finish_reason")
        if finish_reason is not None:
            self._finish_reason = str(finish_reason)
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return ""
        parts = delta.get("tool_calls")
        if parts and isinstance(parts, list):
            for position, part in enumerate(parts):
                if isinstance(part, dict):
                    self._add_call_part(part, position)
        text = delta.get("content") or delta.get("refusal") or ""
        if not isinstance(text, str):
            return ""
        if text:
            self._text.append(text)
        return text

    def _add_call_part(self, part: dict[str, Any], position: int) -> None:
        index = part.get("index")
        call = self._calls.setdefault(index if isinstance(index, int) else position, _PartialCall())
        call_id = part.get("id")
        if not call.id and isinstance(call_id, str):
            call.id = call_id
        function = part.get("function")
        if isinstance(function, dict):
            name = function.get("name")
            if not call.name and isinstance(name, str):
                call.name = name
            arguments = function.get("arguments")
            if arguments and isinstance(arguments, str):
                call.arguments.append(arguments)

    def completion(self, provider: str) -> Completion:
        """Returns the assembled answer.

        Raises ModelUnavailable when the stream held no choice, or ended without a finish
        reason (the answer was cut short).
        """
        if not self._has_choice:
            raise ModelUnavailable(f"{provider} answered without a choice")
        if self._finish_reason is None:
            raise ModelUnavailable(f"{provider} ended its stream before the answer")
        calls = tuple(
            ToolCall(id=c.id, name=c.name, arguments="".join(c.arguments) or "{}")
            for _, c in sorted(self._calls.items())
        )
        return Completion(
            content="".join(self._text),
            tool_calls=calls,
            usage=self._usage,
            model=self._model,
            provider="openai",
        )


def whole_completion(answer: object, *, model: str, provider: str) -> Completion:
    """Returns the Completion of a `chat.completion` object (its first choice).

    Raises ModelUnavailable when the answer is not an object or holds no choice.
    """
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(answer, dict) or (choices is not None and not isinstance(choices, list)):
        raise ModelUnavailable(f"{provider} sent an unusable response")
    choice = choices[0] if choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise ModelUnavailable(f"{provider} answered without a choice")
    calls = tuple(
        ToolCall(
            id=_text(call.get("id")),
            name=_text(function.get("name")),
            arguments=_text(function.get("arguments")) or "{}",
        )
        for call in message.get("tool_calls") or ()
        if isinstance(call, dict)
        and call.get("type", "function") == "function"
        and isinstance(function := call.get("function"), dict)
    )
    usage = answer.get("usage")
    counted = (
        Usage(_count(usage, "prompt_tokens"), _count(usage, "completion_tokens"))
        if isinstance(usage, dict)
        else Usage()
    )
    answered_by = answer.get("model")
    return Completion(
        content=_text(message.get("content")) or _text(message.get("refusal")),
        tool_calls=calls,
        usage=counted,
        model=answered_by if isinstance(answered_by, str) and answered_by else model,
        provider="openai",
    )


def release(response: httpx2.Response) -> None:
    """Reads what is left of a stream whose answer has ended (`[DONE]`, the body's end), at
    most DRAIN_MAX_BYTES, so that closing it returns the connection to the pool.

    The SDK's synchronous stream closes the response at `[DONE]` without reading the end of
    the body, and a connection closed mid-body cannot be reused: every streamed call would
    open a new connection (a TLS handshake to a real provider).
    """
    stream = response.stream
    if not isinstance(stream, httpx2.SyncByteStream):
        return
    left = DRAIN_MAX_BYTES
    try:
        for piece in stream:
            left -= len(piece)
            if left < 0:
                return
    except httpx2.HTTPError:
        return  # the answer is whole; a connection that is not reused is no failure


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(usage: dict[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) else 0
