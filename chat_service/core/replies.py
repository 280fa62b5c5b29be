"""What the assistant answers (a reply, a title) and the prompts it prepares for them."""

from __future__ import annotations

from dataclasses import dataclass, field

from chat_service.core.cache.keys import AnswerBasis
from chat_service.core.context_window import TurnGroup
from chat_service.core.errors import TurnCancelled
from chat_service.core.models import NewMessage, Summary
from chat_service.core.usage import ModelCall
from chat_service.ports.chat_model import ChatMessage, ChatModel, ToolSpec, Usage


@dataclass(frozen=True, slots=True)
class Reply:
    """The assistant's answer to a turn.

    `messages` are what the turn adds after the user's message, in order: each tool-calling
    step (an assistant message with tool calls, then one TOOL message per call) and the
    final answer. `summary` is a new summary of older turns to store with them, if any.
    `tools_used` names the tools whose results the reply rests on, in order of first use,
    and `tools_failed` says whether a call failed; they decide whether it may be cached.
    Each assistant message carries its model calls (the answer also the summary's).
    `model` is the "provider:model" that wrote the answer (a fallback's when the chosen
    model's provider was down).
    """

    content: str
    messages: tuple[NewMessage, ...]
    usage: Usage = field(default_factory=Usage)
    summary: Summary | None = None
    tools_used: tuple[str, ...] = ()
    tools_failed: bool = False
    model: str = ""

    @property
    def calls(self) -> tuple[ModelCall, ...]:
        """Returns the model calls of the reply, in order."""
        return tuple(call for message in self.messages for call in message.calls)


@dataclass(frozen=True, slots=True)
class Title:
    """A conversation's generated title and the model call that made it (None: none made)."""

    text: str
    call: ModelCall | None = None


@dataclass(frozen=True, slots=True)
class PreparedReply:
    """A reply's prompt, built once: the system message, the user's message, the stored turn
    groups and summary, the tools offered, the model asked (`model`, with its fallbacks), and
    `basis`, the plain data that determines the answer (the response cache's key: model,
    limits, tools, prompts' version and the prompt before trimming)."""

    system: ChatMessage
    message: ChatMessage
    groups: tuple[TurnGroup, ...]
    summary: Summary | None
    tools: tuple[ToolSpec, ...]
    basis: AnswerBasis
    model: ChatModel


@dataclass(frozen=True, slots=True)
class PreparedTitle:
    """A title's prompt, built once, the basis that describes it and the model asked."""

    prompt: tuple[ChatMessage, ...]
    basis: AnswerBasis
    model: ChatModel


class CancelledReply(TurnCancelled):
    """The turn was stopped while the reply streamed: `messages` is the turn group to store
    (the finished tool steps and the reply's text so far, finish_reason CANCELLED), empty
    when no text of the reply had been sent."""

    def __init__(self, messages: tuple[NewMessage, ...], partial_text: str) -> None:
        super().__init__(partial_text=partial_text)
        self.messages = messages
