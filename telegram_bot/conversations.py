"""`ChatConversations`: which conversation each Telegram chat is in, and its turns.

Each chat's conversation id lives in the chat's `chat_data` (python-telegram-bot's per-chat
storage, saved across restarts when the bot has a state file). The first message of a chat,
or the first after /new, starts a conversation; later ones continue it. Every call carries
the chat's `session_metadata`, so the service knows the platform, user and chat.

/new is implemented here by forgetting the conversation id: the next message starts afresh.
That is the one place to change when the service offers its own way to end a session. The
chat's chosen model (/model) is kept in `chat_data` too, for the conversations it starts.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from chat_client import (
    AsyncChatClient,
    AsyncTurnStream,
    ModelInfo,
    NotFound,
    SessionMetadata,
    TextDelta,
    TurnCancelled,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
)

logger = logging.getLogger(__name__)

CONVERSATION_KEY = "conversation_id"
MODEL_KEY = "model"


class UnknownModel(ValueError):
    """The chosen model is not one the service offers; `models` are those it does."""

    def __init__(self, model: str, models: Sequence[ModelInfo]) -> None:
        super().__init__(f"unknown model {model!r}")
        self.models = tuple(models)


class ChatConversations:
    """Runs each chat's turns, one at a time per chat (so a chat's first two messages cannot
    start two conversations); different chats run concurrently."""

    def __init__(self, client: AsyncChatClient) -> None:
        self._client = client
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def stream(
        self,
        chat_data: MutableMapping[Any, Any],
        session: SessionMetadata,
        text: str,
        *,
        idempotency_key: str,
        on_text: Callable[[str], Awaitable[None]],
    ) -> str:
        """Sends `text` in the chat's conversation (starting one if needed), streaming:
        `on_text` gets the whole text so far after each piece. Returns the reply (a stopped
        turn's partial text).

        A conversation the service no longer knows (NotFound) is replaced by a new one. A
        failure after the turn started raises its `TwirpError`; the SDK's errors otherwise.
        """
        async with self._lock(session.chat_id):
            conversation_id = chat_data.get(CONVERSATION_KEY)
            stream: AsyncTurnStream | None = None
            if conversation_id:
                try:
                    stream = await self._client.stream_continue(
                        conversation_id, text, session=session, idempotency_key=idempotency_key
                    )
                except NotFound:
                    logger.info(
                        "conversation gone; starting a new one", extra={"chat": session.chat_id}
                    )
                    idempotency_key = f"{idempotency_key}:restart"
            if stream is None:
                stream = await self._client.stream_conversation(
                    text,
                    session=session,
                    idempotency_key=idempotency_key,
                    model=chat_data.get(MODEL_KEY, ""),
                )
            async with stream:
                return await _follow(stream, chat_data, on_text)

    async def regenerate(
        self, chat_data: MutableMapping[Any, Any], session: SessionMetadata, *, idempotency_key: str
    ) -> str | None:
        """Answers the chat's last message again; returns the new reply, or None when the
        chat has no conversation (or the service no longer knows it). Raises the SDK's
        errors otherwise."""
        async with self._lock(session.chat_id):
            conversation_id = chat_data.get(CONVERSATION_KEY)
            if not conversation_id:
                return None
            try:
                answer = await self._client.regenerate_reply(
                    conversation_id, idempotency_key=idempotency_key
                )
            except NotFound:
                chat_data.pop(CONVERSATION_KEY, None)
                return None
            return answer.reply

    async def choose_model(
        self, chat_data: MutableMapping[Any, Any], session: SessionMetadata, model: str
    ) -> None:
        """Makes `model` the chat's model: for its conversation from the next turn on, and
        for the conversations it starts later. Raises UnknownModel (nothing changes) for a
        model the service does not offer, the SDK's errors otherwise."""
        models = await self._client.list_models()
        if model not in {m.id for m in models}:
            raise UnknownModel(model, models)
        async with self._lock(session.chat_id):
            conversation_id = chat_data.get(CONVERSATION_KEY)
            if conversation_id:
                try:
                    await self._client.update_conversation(conversation_id, model=model)
                except NotFound:
                    chat_data.pop(CONVERSATION_KEY, None)
            chat_data[MODEL_KEY] = model

    def _lock(self, chat_id: str) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    def reset(self, chat_data: MutableMapping[Any, Any]) -> bool:
        """Ends the chat's conversation: the next message starts a new one. Returns whether
        there was one."""
        return chat_data.pop(CONVERSATION_KEY, None) is not None


async def _follow(
    stream: AsyncTurnStream,
    chat_data: MutableMapping[Any, Any],
    on_text: Callable[[str], Awaitable[None]],
) -> str:
    text = ""
    async for event in stream:
        if isinstance(event, TurnStarted):
            chat_data[CONVERSATION_KEY] = event.conversation_id
        elif isinstance(event, TextDelta):
            text += event.text
            await on_text(text)
        elif isinstance(event, TurnCompleted):
            return event.reply
        elif isinstance(event, TurnCancelled):
            return event.partial_text
        elif isinstance(event, TurnFailed):
            raise event.error
    return text  # unreachable: a stream ends with its terminal event or raises
