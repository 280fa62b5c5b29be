"""A streamed Messages API answer assembled from its events: text, tool uses and usage."""

from __future__ import annotations

import json

from anthropic.types import (
    InputJSONDelta,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    RawMessageStreamEvent,
    TextDelta,
    ToolUseBlock,
)

from chat_service.core.errors import ModelUnavailable
from chat_service.ports.chat_model import Completion, ToolCall, Usage


class _ToolUse:
    __slots__ = ("id", "input_json", "name")

    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name
        self.input_json: list[str] = []


class StreamedMessage:
    """Collects the events of one streamed message.

    `message_start` carries the model and the input tokens; each content block opens with
    `content_block_start` (a text block, or a tool use with its id and name), grows by
    `text_delta` or `input_json_delta` events and closes with `content_block_stop`;
    `message_delta` carries the stop reason and the (cumulative) output tokens;
    `message_stop` ends the message. Unknown events (`ping`, future kinds) are skipped.
    """

    def __init__(self, *, model: str) -> None:
        self._model = model
        self._text: list[str] = []
        self._tools: dict[int, _ToolUse] = {}
        self._input_tokens = 0
        self._output_tokens = 0
        self._stopped = False

    def add(self, event: RawMessageStreamEvent) -> str:
        """Takes the next event; returns the text it adds ("" when none)."""
        if isinstance(event, RawContentBlockDeltaEvent):
            delta = event.delta
            if isinstance(delta, TextDelta):
                if delta.text:
                    self._text.append(delta.text)
                return delta.text
            if isinstance(delta, InputJSONDelta) and event.index in self._tools:
                self._tools[event.index].input_json.append(delta.partial_json)
        elif isinstance(event, RawContentBlockStartEvent):
            block = event.content_block
            if isinstance(block, ToolUseBlock):
                self._tools[event.index] = _ToolUse(block.id, block.name)
        elif isinstance(event, RawMessageStartEvent):
            message = event.message
            self._model = message.model or self._model
            usage = getattr(message, "usage", None)
            if usage is not None:
                self._input_tokens = usage.input_tokens or 0
                self._output_tokens = usage.output_tokens or 0
        elif isinstance(event, RawMessageDeltaEvent):
            usage = event.usage
            self._input_tokens = getattr(usage, "input_tokens", None) or self._input_tokens
            self._output_tokens = usage.output_tokens or self._output_tokens
        elif isinstance(event, RawMessageStopEvent):
            self._stopped = True
        return ""

    def completion(self, provider: str) -> Completion:
        """Returns the assembled answer; raises ModelUnavailable when the stream ended
        before `message_stop` (the answer was cut short)."""
        if not self._stopped:
            raise ModelUnavailable(f"{provider} ended its stream before the answer")
        calls = tuple(
            ToolCall(id=t.id, name=t.name, arguments=_arguments("".join(t.input_json)))
            for _, t in sorted(self._tools.items())
        )
        return Completion(
            content="".join(self._text),
            tool_calls=calls,
            usage=Usage(self._input_tokens, self._output_tokens),
            model=self._model,
            provider="anthropic",
        )


def _arguments(input_json: str) -> str:
    # The same text as a whole answer's `json.dumps(input)`, so both paths agree.
    try:
        return json.dumps(json.loads(input_json or "{}"))
    except ValueError:
        return input_json
