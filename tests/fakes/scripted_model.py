"""ScriptedChatModel: an in-memory ChatModel that answers queued completions and records calls."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chat_service.ports.chat_model import ChatMessage, Completion, PromptRole, TextSink, ToolSpec

Step = Completion | str | Exception
Responder = Callable[[Sequence[ChatMessage]], Completion]


@dataclass(frozen=True)
class ModelCall:
    """The arguments of one `complete` call."""

    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...]
    max_tokens: int


def echo_completion(messages: Sequence[ChatMessage]) -> Completion:
    """The default responder, as FakeOpenAIServer's: "echo: " and the last user message."""
    users = [m.content for m in messages if m.role is PromptRole.USER]
    return Completion(content=f"echo: {users[-1] if users else ''}", model="scripted")


class ScriptedChatModel:
    """A ChatModel answering queued steps in order, then `responder`; thread-safe.

    A step is a Completion, a string (a text completion of model "scripted") or an exception,
    which `complete` raises (e.g. ModelUnavailable to test fallbacks).
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
        """Returns the next queued completion (or raises the queued exception)."""
        with self._lock:
            self._calls.append(ModelCall(tuple(messages), tuple(tools), max_tokens))
            step = self._steps.popleft() if self._steps else None
        if step is None:
            completion = self.responder(messages)
        elif isinstance(step, Exception):
            raise step
        elif isinstance(step, str):
            completion = Completion(content=step, model="scripted")
        else:
            completion = step
        if on_text is not None and completion.content:
            on_text(completion.content)
        return completion
