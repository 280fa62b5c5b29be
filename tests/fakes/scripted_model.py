"""ScriptedChatModel: an in-memory ChatModel that answers queued completions and records calls."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chat_service.ports.chat_model import (
    ChatMessage,
    Completion,
    ModelUnavailable,
    PromptRole,
    TextSink,
    ToolSpec,
)
from tests.fakes.sse_stream import word_pieces


@dataclass(frozen=True)
class Streamed:
    """A completion streamed as `deltas` (default: its content word by word).

    With `fail_after`, the stream breaks once that many deltas went out: `error` is raised
    (a non-streaming call raises it at once), as a provider's broken stream would.
    """

    completion: Completion | str
    deltas: tuple[str, ...] | None = None
    fail_after: int | None = None
    error: Exception = field(default_factory=lambda: ModelUnavailable("scripted stream broke"))

    def __post_init__(self) -> None:
        if self.deltas is not None and "".join(self.deltas) != self.answer.content:
            raise ValueError("the deltas must concatenate to the completion's content")

    @property
    def answer(self) -> Completion:
        """Returns the completion, a string read as a text completion of model "scripted"."""
        if isinstance(self.completion, str):
            return Completion(content=self.completion, model="scripted")
        return self.completion

    def pieces(self) -> tuple[str, ...]:
        """Returns the deltas the stream sends (up to the break, if it breaks)."""
        deltas = self.deltas if self.deltas is not None else tuple(word_pieces(self.answer.content))
        return deltas if self.fail_after is None else deltas[: self.fail_after]


Step = Completion | str | Exception | Streamed
Responder = Callable[[Sequence[ChatMessage]], Completion]


@dataclass(frozen=True)
class ModelCall:
    """The arguments of one `complete` call."""

    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...]
    max_tokens: int
    streamed: bool = False


def echo_completion(messages: Sequence[ChatMessage]) -> Completion:
    """The default responder, as FakeOpenAIServer's: "echo: " and the last user message."""
    users = [m.content for m in messages if m.role is PromptRole.USER]
    return Completion(content=f"echo: {users[-1] if users else ''}", model="scripted")


class ScriptedChatModel:
    """A ChatModel answering queued steps in order, then `responder`; thread-safe.

    A step is a Completion, a string (a text completion of model "scripted"), an exception,
    which `complete` raises (e.g. ModelUnavailable to test fallbacks), or `Streamed(...)`:
    given deltas, or a stream that breaks after N deltas. With `on_text`, a completion's
    text goes out word by word.
    """

    def __init__(
        self, *steps: Step, name: str = "scripted", responder: Responder = echo_completion
    ) -> None:
        self.responder = responder
        self._name = name
        self._lock = threading.Lock()
        self._steps: collections.deque[Step] = collections.deque(steps)
        self._calls: list[ModelCall] = []

    @property
    def name(self) -> str:
        """Returns the name given at construction ("scripted" by default)."""
        return self._name

    def script(self, *steps: Step) -> None:
        """Queues steps for the next calls, in order."""
        with self._lock:
            self._steps.extend(steps)

    @property
    def pending(self) -> int:
        """Returns how many queued steps are left."""
        with self._lock:
            return len(self._steps)

    @property
    def calls(self) -> list[ModelCall]:
        """Returns a copy of every call so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Returns the next queued completion (or raises the queued exception), streaming
        its text to `on_text`."""
        with self._lock:
            call = ModelCall(tuple(messages), tuple(tools), max_tokens, on_text is not None)
            self._calls.append(call)
            step = self._steps.popleft() if self._steps else None
        if step is None:
            step = Streamed(self.responder(messages))
        elif isinstance(step, Exception):
            raise step
        elif not isinstance(step, Streamed):
            step = Streamed(step)
        if on_text is not None:
            for piece in step.pieces():
                on_text(piece)
        if step.fail_after is not None:
            raise step.error
        return step.answer
