"""The assistant: turns a conversation's history into the model's next reply, and titles."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from chat_service import prompts
from chat_service.errors import ModelUnavailable
from chat_service.llm.base import ChatMessage, ChatModel, PromptRole, Usage
from chat_service.models import NewMessage, Role
from chat_service.observability.attribution import llm_operation

logger = logging.getLogger(__name__)

_PROMPT_ROLES = {Role.USER: PromptRole.USER, Role.ASSISTANT: PromptRole.ASSISTANT}


@dataclass(frozen=True, slots=True)
class Reply:
    """The assistant's answer to a turn and what it cost."""

    content: str
    usage: Usage = field(default_factory=Usage)


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
        messages = [ChatMessage(PromptRole.SYSTEM, self._system_prompt)]
        messages += [ChatMessage(_PROMPT_ROLES[m.role], m.content) for m in history]
        with llm_operation("reply"):
            completion = self._model.complete(messages, max_tokens=self._reply_max_tokens)
        if not completion.content.strip():
            raise ModelUnavailable("the language model returned an empty reply")
        return Reply(completion.content, completion.usage)

    def title(self, first_message: str) -> str:
        """Returns a short title for a conversation that starts with `first_message`."""
        prompt = prompts.title_prompt(first_message)
        with llm_operation("title"):
            completion = self._model.complete(prompt, max_tokens=self._title_max_tokens)
        return prompts.clean_title(completion.content)
