"""The assistant: turns a conversation's history into the model's next reply, and titles."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from chat_service import prompts
from chat_service.cache_keys import AnswerBasis, Json
from chat_service.errors import ModelUnavailable
from chat_service.llm.base import ChatMessage, ChatModel, PromptRole, Usage
from chat_service.models import NewMessage, Role

logger = logging.getLogger(__name__)

_PROMPT_ROLES = {Role.USER: PromptRole.USER, Role.ASSISTANT: PromptRole.ASSISTANT}


@dataclass(frozen=True, slots=True)
class Reply:
    """The assistant's answer to a turn and what it cost."""

    content: str
    usage: Usage = field(default_factory=Usage)
    # Names of the tools whose results the reply rests on (decides whether it may be cached).
    tools_used: tuple[str, ...] = ()


class Assistant:
    """Answers with a ChatModel, given the system prompt and a bounded history."""

    def __init__(
        self,
        model: ChatModel,
        *,
        system_prompt: str = prompts.DEFAULT_SYSTEM_PROMPT,
        reply_max_tokens: int = 1024,
        title_max_tokens: int = 30,
    ) -> None:
        self._model = model
        self._system_prompt = system_prompt
        self._reply_max_tokens = reply_max_tokens
        self._title_max_tokens = title_max_tokens

    def reply(self, history: Sequence[NewMessage]) -> Reply:
        """Returns the reply to the last message of `history` (oldest first).

        Raises ModelUnavailable when the model cannot answer, ModelRejected when it refuses.
        """
        messages = self._reply_prompt(history)
        completion = self._model.complete(messages, max_tokens=self._reply_max_tokens)
        if not completion.content.strip():
            raise ModelUnavailable("the language model returned an empty reply")
        return Reply(completion.content, completion.usage)

    def title(self, first_message: str) -> str:
        """Returns a short title for a conversation that starts with `first_message`."""
        prompt = prompts.title_prompt(first_message)
        completion = self._model.complete(prompt, max_tokens=self._title_max_tokens)
        return prompts.clean_title(completion.content)

    def reply_basis(self, history: Sequence[NewMessage]) -> AnswerBasis:
        """Returns everything that determines `reply(history)`, as plain data for cache keys."""
        return self._basis(self._reply_prompt(history), max_tokens=self._reply_max_tokens)

    def title_basis(self, first_message: str) -> AnswerBasis:
        """Returns everything that determines `title(first_message)`, as plain data."""
        prompt = prompts.title_prompt(first_message)
        return self._basis(prompt, max_tokens=self._title_max_tokens)

    def _reply_prompt(self, history: Sequence[NewMessage]) -> list[ChatMessage]:
        messages = [ChatMessage(PromptRole.SYSTEM, self._system_prompt)]
        messages += [ChatMessage(_PROMPT_ROLES[m.role], m.content) for m in history]
        return messages

    def _basis(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> AnswerBasis:
        provider, _, model = self._model.name.partition(":")
        return AnswerBasis(
            provider=provider,
            model=model,
            prompt_version=prompts.PROMPT_VERSION,
            sampling={"max_tokens": max_tokens},
            messages=[_message_json(m) for m in messages],
        )


def _message_json(message: ChatMessage) -> dict[str, Json]:
    out: dict[str, Json] = {"role": message.role.value, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out
