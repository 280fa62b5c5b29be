"""`ChatConversations`: which conversation each Telegram chat is in, and its turns.

Each chat's conversation id lives in the chat's `chat_data` (python-telegram-bot's per-chat
storage, saved across restarts when the bot has a state file). The first message of a chat,
or the first after /new, starts a conversation; later ones continue it. Every call carries
the chat's `session_metadata`, so the service knows the platform, user and chat.

/new is implemented here by forgetting the conversation id: the next message starts afresh.
That is the one place to change when the service offers its own way to end a session.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import MutableMapping
from typing import Any

from chat_client import AsyncChatClient, NotFound, SessionMetadata

logger = logging.getLogger(__name__)

CONVERSATION_KEY = "conversation_id"


class ChatConversations:
    """Runs each chat's turns, one at a time per chat (so a chat's first two messages cannot
    start two conversations); different chats run concurrently."""

    def __init__(self, client: AsyncChatClient) -> None:
        self._client = client
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def send(
        self,
        chat_data: MutableMapping[Any, Any],
        session: SessionMetadata,
        text: str,
        *,
        idempotency_key: str,
    ) -> str:
        """Sends `text` in the chat's conversation (starting one if needed); returns the reply.

        A conversation the service no longer knows (NotFound) is replaced by a new one.
        Raises the SDK's errors otherwise.
        """
        lock = self._locks.get(session.chat_id)
        if lock is None:
            lock = self._locks[session.chat_id] = asyncio.Lock()
        async with lock:
            conversation_id = chat_data.get(CONVERSATION_KEY)
            if conversation_id:
                try:
                    answer = await self._client.continue_conversation(
                        conversation_id, text, session=session, idempotency_key=idempotency_key
                    )
                    return answer.reply
                except NotFound:
                    logger.info(
                        "conversation gone; starting a new one", extra={"chat": session.chat_id}
                    )
                # The failed continue used the key; a retry of this start must not match it.
                idempotency_key = f"{idempotency_key}:restart"
            started = await self._client.start_conversation(
                text, session=session, idempotency_key=idempotency_key
            )
            chat_data[CONVERSATION_KEY] = started.conversation_id
            return started.reply

    def reset(self, chat_data: MutableMapping[Any, Any]) -> bool:
        """Ends the chat's conversation: the next message starts a new one. Returns whether
        there was one."""
        return chat_data.pop(CONVERSATION_KEY, None) is not None
