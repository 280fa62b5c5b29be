"""A streamed Chat Completions answer assembled from its chunks: text, tool calls and usage."""

from __future__ import annotations

from openai.types.chat import ChatCompletionChunk

from chat_service.core.errors import ModelUnavailable
from chat_service.ports.chat_model import Completion, ToolCall, Usage


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
    other calls' fragments. Usage comes with the last chunk (`include_usage`), the finish
    reason with the last chunk of the choice.
    """

    def __init__(self, *, model: str) -> None:
        self._model = model
        self._text: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._usage = Usage()
        self._finish_reason: str | None = None
        self._has_choice = False

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Takes the next chunk; returns the text it adds ("" when none)."""
        # Compatible servers sometimes omit fields the SDK's types call required.
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self._usage = Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0)
        choices = getattr(chunk, "choices", None)
        if not choices:
            return ""
        if not self._has_choice:
            self._has_choice = True
            self._model = getattr(chunk, "model", None) or self._model
        choice = choices[0]
        if choice.finish_reason is not None:
            self._finish_reason = choice.finish_reason
        delta = choice.delta
        if delta.tool_calls:
            for position, part in enumerate(delta.tool_calls):
                self._add_call_part(part, position)
        text = delta.content or getattr(delta, "refusal", None) or ""
        if text:
            self._text.append(text)
        return text

    def _add_call_part(self, part: object, position: int) -> None:
        index = getattr(part, "index", None)
        call = self._calls.setdefault(index if isinstance(index, int) else position, _PartialCall())
        call.id = call.id or getattr(part, "id", None) or ""
        function = getattr(part, "function", None)
        if function is not None:
            call.name = call.name or function.name or ""
            if function.arguments:
                call.arguments.append(function.arguments)

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
            content="".join(self._text), tool_calls=calls, usage=self._usage, model=self._model
        )
