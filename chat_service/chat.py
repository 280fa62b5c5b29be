"""The chat use cases: start, continue, list and describe conversations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime

from chat_service import prompts
from chat_service.answer_cache import CachedAnswers
from chat_service.assistant import Assistant
from chat_service.errors import InvalidRequest
from chat_service.models import (
    ContinueTurn,
    ConversationDetail,
    ConversationPage,
    NewMessage,
    Role,
    StartedConversation,
    StartTurn,
    is_conversation_id,
)
from chat_service.repository import ConversationRepository

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

LIST_PAGE_SIZE = (20, 100)
MESSAGE_PAGE_SIZE = (100, 1000)


class Chat:
    """Runs turns through the assistant and stores them; one instance serves all requests."""

    def __init__(
        self,
        repository: ConversationRepository,
        assistant: Assistant,
        *,
        clock: Clock,
        executor: Executor,
        max_message_chars: int = 16_000,
        history_messages: int = 40,
        answers: CachedAnswers | None = None,
    ) -> None:
        """`answers` puts the assistant behind the response cache (default: no cache)."""
        self._repository = repository
        self._answers = answers or CachedAnswers(assistant, None, ttl_s=0)
        self._clock = clock
        self._executor = executor
        self._max_message_chars = max_message_chars
        self._history_messages = history_messages

    def start(self, command: StartTurn) -> StartedConversation:
        """Creates a conversation from its first message; the title is made alongside the reply.

        Nothing is stored unless the reply succeeds. Raises InvalidRequest, Unavailable.
        """
        message = self._checked_message(command.message)
        title_future = self._executor.submit(self._title, command.owner, message)
        user = NewMessage(Role.USER, message)
        reply = self._answers.reply(command.owner, [user])
        conversation = self._repository.create(
            owner=command.owner,
            title=title_future.result(),
            session=command.session,
            messages=[user, NewMessage(Role.ASSISTANT, reply.content)],
            now=self._clock(),
        )
        return StartedConversation(conversation.id, conversation.title, reply.content)

    def continue_turn(self, command: ContinueTurn) -> str:
        """Adds the user message and the reply to the conversation, together; returns the reply.

        Raises InvalidRequest, ConversationNotFound, Unavailable.
        """
        conversation_id = self._checked_id(command.conversation_id)
        message = self._checked_message(command.message)
        self._repository.get(owner=command.owner, conversation_id=conversation_id)
        earlier = self._repository.recent_messages(
            conversation_id=conversation_id, limit=self._history_messages - 1
        )
        user = NewMessage(Role.USER, message)
        history = [NewMessage(m.role, m.content) for m in earlier] + [user]
        reply = self._answers.reply(command.owner, history)
        self._repository.append(
            owner=command.owner,
            conversation_id=conversation_id,
            messages=[user, NewMessage(Role.ASSISTANT, reply.content)],
            now=self._clock(),
        )
        return reply.content

    def list_conversations(
        self, *, owner: str, page_size: int, page_token: str
    ) -> ConversationPage:
        """Returns one page of the owner's conversations, newest first. Raises InvalidRequest."""
        return self._repository.list_conversations(
            owner=owner, page_size=_page_size(page_size, *LIST_PAGE_SIZE), page_token=page_token
        )

    def describe(
        self, *, owner: str, conversation_id: str, page_size: int, page_token: str
    ) -> ConversationDetail:
        """Returns the conversation with one page of its messages, oldest first.

        Raises InvalidRequest, ConversationNotFound.
        """
        conversation_id = self._checked_id(conversation_id)
        size = _page_size(page_size, *MESSAGE_PAGE_SIZE)
        conversation = self._repository.get(owner=owner, conversation_id=conversation_id)
        messages = self._repository.list_messages(
            conversation_id=conversation_id, page_size=size, page_token=page_token
        )
        return ConversationDetail(conversation, messages)

    def _title(self, owner: str, message: str) -> str:
        try:
            return self._answers.title(owner, message)
        except Exception:
            # A title is a nicety: the turn goes on with one made from the message itself.
            logger.warning(
                "title generation failed; using the message's first words", exc_info=True
            )
            return prompts.clean_title(message)

    def _checked_message(self, message: str) -> str:
        if not message.strip():
            raise InvalidRequest("message", "message is required")
        if len(message) > self._max_message_chars:
            raise InvalidRequest(
                "message", f"message is longer than {self._max_message_chars} characters"
            )
        return message

    @staticmethod
    def _checked_id(conversation_id: str) -> str:
        if not conversation_id.strip():
            raise InvalidRequest("conversation_id", "conversation_id is required")
        if not is_conversation_id(conversation_id):
            raise InvalidRequest("conversation_id", "conversation_id is not a valid id")
        return conversation_id


def _page_size(requested: int, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidRequest("page_size", "page_size must not be negative")
    return min(requested or default, maximum)
