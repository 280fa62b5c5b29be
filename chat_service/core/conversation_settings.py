"""ConversationSettings: what a conversation runs with (its title, model and instructions), the
models it may choose, and the instructions an owner sets for all its conversations."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime

from chat_service.core.errors import InvalidRequest
from chat_service.core.instructions import StandingInstructions
from chat_service.core.model_catalog import ModelCatalog, ModelOption
from chat_service.core.models import Conversation, is_conversation_id
from chat_service.ports.repository import ConversationRepository

MAX_TITLE_CHARS = 100


def checked_conversation_id(conversation_id: str) -> str:
    """Returns the id; raises InvalidRequest when it is blank or not of an id's form."""
    if not conversation_id.strip():
        raise InvalidRequest("conversation_id", "conversation_id is required")
    if not is_conversation_id(conversation_id):
        raise InvalidRequest("conversation_id", "conversation_id is not a valid id")
    return conversation_id


class ConversationSettings:
    """Changes conversations' settings and owners' default instructions; lists the models."""

    def __init__(
        self,
        repository: ConversationRepository,
        *,
        models: ModelCatalog,
        instructions: StandingInstructions,
        clock: Callable[[], datetime],
    ) -> None:
        self._repository = repository
        self._models = models
        self._instructions = instructions
        self._clock = clock

    def update(
        self,
        *,
        owner: str,
        conversation_id: str,
        title: str = "",
        model: str | None = None,
        instructions: str | None = None,
    ) -> Conversation:
        """Changes the conversation's settings: a non-empty title; a model of the allow-list
        ("" for the default); instructions ("" for none). None and an empty title leave a
        setting as it is. Returns the header.

        Raises InvalidRequest (nothing to change, a bad title, an unknown model, instructions
        too long), ConversationNotFound.
        """
        conversation_id = checked_conversation_id(conversation_id)
        title = title.strip()
        if not title and model is None and instructions is None:
            raise InvalidRequest("title", "nothing to change: set title, model or instructions")
        if len(title) > MAX_TITLE_CHARS:
            raise InvalidRequest("title", f"title is longer than {MAX_TITLE_CHARS} characters")
        if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in title):
            raise InvalidRequest("title", "title must not contain control characters")
        return self._repository.update(
            owner=owner,
            conversation_id=conversation_id,
            now=self._clock(),
            title=title or None,
            model=None if model is None else self._models.checked(model),
            instructions=None if instructions is None else self._instructions.checked(instructions),
        )

    def list_models(self) -> tuple[ModelOption, ...]:
        """Returns the models a conversation may choose, the default first."""
        return self._models.options

    def default_instructions(self, *, owner: str) -> str:
        """Returns the owner's default instructions ("" for none). Raises Unavailable."""
        return self._instructions.owner_default(owner)

    def set_default_instructions(self, *, owner: str, instructions: str) -> str:
        """Sets the instructions of the owner's conversations that have none of their own
        ("" removes them); returns them as stored. Raises InvalidRequest, Unavailable."""
        return self._instructions.set_owner_default(owner, instructions, now=self._clock())
