"""The ChatModel port and the types that cross it (no SDK type passes this line)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chat_service.core.errors import ChatError, ModelUnavailable
from tools.spec import ToolCall as ToolCall
from tools.spec import ToolSpec as ToolSpec


class PromptRole(enum.Enum):
    """Roles a model understands."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a prompt."""

    role: PromptRole
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a call consumed."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """A model's answer: text, or tool calls to run before it answers.

    Adapters set `usage` (as the provider reported it), `model` (the model that answered)
    and `provider`; the metering wrapper (core.metering) fills in `usage` when the provider
    gave none, and `cost_usd` and `latency_s`.
    `model` is the model as the provider named it in its answer; `answered_by` the
    "provider:model" link of a provider chain that answered (empty outside a chain).
    """

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    provider: str = ""
    cost_usd: float = 0.0
    latency_s: float = 0.0
    answered_by: str = ""


TextSink = Callable[[str], None]
"""Receives a completion's text as the provider writes it, one delta at a time."""


class ModelRejected(ChatError):
    """The provider refused the request itself (bad request, context too long); not retried."""


class ChatModel(Protocol):
    """A language model that completes a prompt.

    Raises ModelUnavailable when the provider cannot answer now (down, overloaded,
    timed out) and ModelRejected when it refuses this request.

    With `on_text`, the model streams: each piece of the answer's text is passed to
    `on_text` as it arrives, in order, and their concatenation is the returned content.
    An exception raised by `on_text` (a cancelled turn) stops the stream and propagates
    unchanged. Once a delta has been passed on, a failure is final: wrappers retry or fall
    back to another provider only before the first delta.
    """

    @property
    def name(self) -> str:
        """Provider and model, e.g. "openai:gpt-4o-mini"."""
        ...

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Returns the model's completion of `messages`, streaming its text to `on_text`."""
        ...


__all__ = [
    "ChatMessage",
    "ChatModel",
    "Completion",
    "ModelRejected",
    "ModelUnavailable",
    "PromptRole",
    "TextSink",
    "ToolCall",
    "ToolSpec",
    "Usage",
]
