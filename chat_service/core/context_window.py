"""The context window: which past turn groups fit the token budget next to the pinned prompt.

A turn group is one user message and everything the assistant stored in answer to it:
its tool calls, every tool result and the final answer. Groups are kept or dropped whole,
newest kept first, so a provider never sees a tool result without its call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chat_service.core.models import Message, Role
from chat_service.ports.chat_model import ChatMessage, ModelRejected, PromptRole, ToolSpec

_PROMPT_ROLES = {
    Role.USER: PromptRole.USER,
    Role.ASSISTANT: PromptRole.ASSISTANT,
    Role.TOOL: PromptRole.TOOL,
}


class TokenCounter(Protocol):
    """Counts prompt tokens; per-message counts add up (see TiktokenCounter)."""

    def message(self, message: ChatMessage) -> int: ...

    def messages(self, messages: Sequence[ChatMessage]) -> int: ...

    def tools(self, tools: Sequence[ToolSpec]) -> int: ...


class ContextOverflow(ModelRejected):
    """Even without any history the request does not fit MAX_CONTEXT_TOKENS.

    Its message names the settings involved: the service's operator is the one who can fix it.
    """


@dataclass(frozen=True, slots=True)
class TurnGroup:
    """Stored messages of one turn, oldest first; seqs [first_seq, end_seq)."""

    messages: tuple[Message, ...]
    # The prompt messages, built on first use: a turn asks for them several times (to fit
    # the window, to build the prompt, for the cache key).
    _prompt: tuple[ChatMessage, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def first_seq(self) -> int:
        return self.messages[0].seq

    @property
    def end_seq(self) -> int:
        return self.messages[-1].seq + 1

    def prompt(self) -> tuple[ChatMessage, ...]:
        """Returns the group as prompt messages."""
        if self._prompt is None:
            prompt = tuple(
                ChatMessage(_PROMPT_ROLES[m.role], m.content, m.tool_calls, m.tool_call_id)
                for m in self.messages
            )
            object.__setattr__(self, "_prompt", prompt)
            return prompt
        return self._prompt


def turn_groups(history: Sequence[Message]) -> list[TurnGroup]:
    """Splits `history` (oldest first) into turn groups.

    Messages before the first user message (a read that began inside a group) are left
    out, and so is any group whose tool calls and results do not pair up, so every group
    returned is valid on its own for every provider.
    """
    groups: list[list[Message]] = []
    for message in history:
        if message.role is Role.USER:
            groups.append([message])
        elif groups:
            groups[-1].append(message)
    return [TurnGroup(tuple(g)) for g in groups if _pairs_up(g)]


def _pairs_up(group: Sequence[Message]) -> bool:
    pending: set[str] = set()
    for message in group[1:]:
        if message.role is Role.USER:
            return False
        if message.role is Role.TOOL:
            if message.tool_call_id not in pending:
                return False
            pending.discard(message.tool_call_id)
        else:
            if pending:  # a new assistant step before every result arrived
                return False
            pending = {c.id for c in message.tool_calls}
    return not pending and group[-1].role is Role.ASSISTANT and not group[-1].tool_calls


@dataclass(frozen=True, slots=True)
class Fit:
    """The groups that fit (oldest first) and those left out (oldest first)."""

    kept: tuple[TurnGroup, ...]
    dropped: tuple[TurnGroup, ...]


class ContextWindow:
    """Fits prompts into `max_tokens`, of which `reply_tokens` are kept for the answer."""

    def __init__(self, counter: TokenCounter, *, max_tokens: int, reply_tokens: int) -> None:
        if max_tokens <= reply_tokens:
            raise ValueError("max_tokens must be larger than reply_tokens")
        self._counter = counter
        self._max_tokens = max_tokens
        self._reply_tokens = reply_tokens
        self._budget = max_tokens - reply_tokens

    @property
    def budget(self) -> int:
        """Returns the tokens a prompt (messages and tools) may use."""
        return self._budget

    def fit(
        self,
        *,
        pinned: Sequence[ChatMessage],
        groups: Sequence[TurnGroup],
        current: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
    ) -> Fit:
        """Returns the newest groups that fit between `pinned` and `current`.

        Raises ContextOverflow when `pinned`, `current` and `tools` alone exceed the budget.
        """
        used = self._counter.messages([*pinned, *current]) + self._counter.tools(tools)
        if used > self._budget:
            raise ContextOverflow(
                f"the request needs about {used} tokens, more than the {self._budget} allowed:"
                f" MAX_CONTEXT_TOKENS ({self._max_tokens}) minus REPLY_MAX_TOKENS"
                f" ({self._reply_tokens}). Send a shorter message, or raise MAX_CONTEXT_TOKENS;"
                " MAX_MESSAGE_CHARS counts characters, and one character can take several tokens"
            )
        cut = len(groups)
        while cut > 0:
            cost = sum(self._counter.message(m) for m in groups[cut - 1].prompt())
            if used + cost > self._budget:
                break
            used += cost
            cut -= 1
        return Fit(kept=tuple(groups[cut:]), dropped=tuple(groups[:cut]))

    def prompt_tokens(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> int:
        """Returns the tokens of a request's messages and tools."""
        return self._counter.messages(messages) + self._counter.tools(tools)
