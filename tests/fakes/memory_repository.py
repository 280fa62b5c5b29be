"""InMemoryConversationRepository: a thread-safe fake of the ConversationRepository port.

It keeps the Mongo adapter's semantics (checked by tests/integration/test_repository_contract.py):
ids are 24-hex strings that increase in creation order, timestamps are UTC truncated to the
millisecond, page tokens are the same opaque cursors, errors are the same classes.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from chat_service.adapters.mongo.page_tokens import (
    decode_conversation_token,
    decode_message_token,
    encode_conversation_token,
    encode_message_token,
)
from chat_service.core.errors import ConversationNotFound, StorageUnavailable, TurnConflict
from chat_service.core.models import (
    Conversation,
    ConversationPage,
    Message,
    MessagePage,
    NewMessage,
    Role,
    SessionInfo,
    Summary,
    is_conversation_id,
)
from chat_service.core.timestamps import to_stored
from chat_service.ports.idempotency import Receipt
from chat_service.ports.repository import TurnContext
from tests.fakes.memory_idempotency import InMemoryIdempotencyStore


class InMemoryConversationRepository:
    """Conversations and messages in dicts behind one lock.

    Set `unavailable = True` to make every method raise StorageUnavailable, as the Mongo
    adapter does when the server is down.
    """

    def __init__(self, idempotency: InMemoryIdempotencyStore | None = None) -> None:
        """`idempotency` is the store whose records receipts complete (as in one transaction)."""
        self.idempotency = idempotency or InMemoryIdempotencyStore()
        self.unavailable = False
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._conversations: dict[str, Conversation] = {}
        self._messages: dict[str, list[Message]] = {}
        self._summaries: dict[str, list[Summary]] = {}
        self._deleted: dict[str, str] = {}  # conversation id -> owner

    def create(
        self,
        *,
        owner: str,
        title: str,
        session: SessionInfo,
        messages: Sequence[NewMessage],
        now: datetime,
        receipt: Receipt | None = None,
        conversation_id: str = "",
        model: str = "",
        instructions: str = "",
    ) -> Conversation:
        stored_now = to_stored(now)
        with self._lock:
            self._check_available()
            new_id = conversation_id or self._new_id()
            if receipt is not None:
                self.idempotency.complete(receipt, new_id)
            conversation = Conversation(
                id=new_id,
                owner=owner,
                title=title,
                created_at=stored_now,
                updated_at=stored_now,
                message_count=len(messages),
                session=session,
                model=model,
                instructions=instructions,
            )
            self._conversations[conversation.id] = conversation
            self._messages[conversation.id] = self._numbered(conversation.id, 0, messages, now)
            return conversation

    def append(
        self,
        *,
        owner: str,
        conversation_id: str,
        messages: Sequence[NewMessage],
        now: datetime,
        summary: Summary | None = None,
        expected_count: int | None = None,
        receipt: Receipt | None = None,
        deactivate: tuple[int, int] | None = None,
        read: Conversation | None = None,
    ) -> Conversation:
        if read is not None:
            expected_count = read.message_count
        with self._lock:
            conversation = self._owned(owner, conversation_id)
            if not messages:
                return conversation
            if expected_count is not None and conversation.message_count != expected_count:
                raise TurnConflict()
            if receipt is not None:
                self.idempotency.complete(receipt, conversation_id)
            stored = self._messages[conversation_id]
            if deactivate is not None:
                for seq in range(*deactivate):
                    stored[seq] = replace(stored[seq], inactive=True)
            stored += self._numbered(conversation_id, len(stored), messages, now)
            if summary is not None:
                self._summaries.setdefault(conversation_id, []).append(summary)
            conversation = replace(
                conversation,
                message_count=len(stored),
                updated_at=max(conversation.updated_at, to_stored(now)),
            )
            self._conversations[conversation_id] = conversation
            return conversation

    def get(self, *, owner: str, conversation_id: str) -> Conversation:
        with self._lock:
            return self._owned(owner, conversation_id)

    def turn_context(
        self, *, owner: str, conversation_id: str, history_messages: int
    ) -> TurnContext:
        header = self.get(owner=owner, conversation_id=conversation_id)
        summary = self.latest_summary(conversation_id=conversation_id)
        messages = self.recent_messages(
            owner=owner,
            conversation_id=conversation_id,
            limit=history_messages,
            first_seq=summary.end_seq if summary else 0,
        )
        return TurnContext(header, summary, messages)

    def recent_messages(
        self,
        *,
        owner: str,
        conversation_id: str,
        limit: int,
        first_seq: int = 0,
        before_seq: int | None = None,
    ) -> list[Message]:
        if limit <= 0:
            return []
        with self._lock:
            self._owned(owner, conversation_id)
            stored = self._stored_messages(conversation_id)
        return stored[:before_seq][first_seq:][-limit:]

    def last_turn(self, *, owner: str, conversation_id: str) -> list[Message]:
        with self._lock:
            self._owned(owner, conversation_id)
            stored = self._stored_messages(conversation_id)
        users = [m.seq for m in stored if m.role is Role.USER and not m.inactive]
        return stored[users[-1] :] if users else []

    def latest_summary(self, *, conversation_id: str) -> Summary | None:
        with self._lock:
            self._stored_messages(conversation_id)
            summaries = self._summaries.get(conversation_id, [])
        return max(summaries, key=lambda s: s.end_seq, default=None)

    def list_conversations(
        self, *, owner: str, page_size: int, page_token: str
    ) -> ConversationPage:
        _check_page_size(page_size)
        cursor = decode_conversation_token(page_token) if page_token else None
        with self._lock:
            self._check_available()
            owned = [c for c in self._conversations.values() if c.owner == owner]
        owned.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        if cursor is not None:
            after = (cursor.created_at, cursor.conversation_id)
            owned = [c for c in owned if (c.created_at, c.id) < after]
        page = tuple(owned[:page_size])
        if len(owned) <= page_size:
            return ConversationPage(page)
        return ConversationPage(page, encode_conversation_token(page[-1].created_at, page[-1].id))

    def list_messages(
        self, *, owner: str, conversation_id: str, page_size: int, page_token: str
    ) -> MessagePage:
        _check_page_size(page_size)
        first_seq = decode_message_token(page_token) if page_token else 0
        with self._lock:
            self._owned(owner, conversation_id)
            stored = self._stored_messages(conversation_id)
        end_seq = min(first_seq + page_size, len(stored))
        next_token = encode_message_token(end_seq) if end_seq < len(stored) else ""
        return MessagePage(tuple(stored[first_seq:end_seq]), next_token)

    def delete(self, *, owner: str, conversation_id: str, now: datetime) -> bool:
        with self._lock:
            try:
                self._owned(owner, conversation_id)
            except ConversationNotFound:
                if self._deleted.get(conversation_id) == owner:
                    return False
                raise
            del self._conversations[conversation_id]
            self._messages.pop(conversation_id, None)
            self._summaries.pop(conversation_id, None)
            self._deleted[conversation_id] = owner
            self.idempotency.forget_conversation(conversation_id)
            return True

    def update(
        self,
        *,
        owner: str,
        conversation_id: str,
        now: datetime,
        title: str | None = None,
        model: str | None = None,
        instructions: str | None = None,
    ) -> Conversation:
        with self._lock:
            conversation = self._owned(owner, conversation_id)
            updated_at = max(conversation.updated_at, to_stored(now))
            conversation = replace(
                conversation,
                title=conversation.title if title is None else title,
                model=conversation.model if model is None else model,
                instructions=conversation.instructions if instructions is None else instructions,
                updated_at=updated_at,
            )
            self._conversations[conversation_id] = conversation
            return conversation

    def ping(self) -> None:
        self._check_available()

    def new_conversation_id(self) -> str:
        with self._lock:
            return self._new_id()

    def _new_id(self) -> str:
        return f"{next(self._ids):024x}"

    def _numbered(
        self, conversation_id: str, first_seq: int, messages: Sequence[NewMessage], now: datetime
    ) -> list[Message]:
        return [
            Message(
                id=self._new_id(),
                conversation_id=conversation_id,
                seq=first_seq + offset,
                role=message.role,
                content=message.content,
                created_at=to_stored(now),
                tool_calls=message.tool_calls,
                tool_call_id=message.tool_call_id,
                tool_name=message.tool_name,
                calls=message.calls,
                finish_reason=message.finish_reason,
                model=message.model,
                version=message.version,
                alternative_of=message.alternative_of,
            )
            for offset, message in enumerate(messages)
        ]

    def _owned(self, owner: str, conversation_id: str) -> Conversation:
        if not is_conversation_id(conversation_id):
            raise ConversationNotFound(conversation_id)
        self._check_available()
        conversation = self._conversations.get(conversation_id)
        if conversation is None or conversation.owner != owner:
            raise ConversationNotFound(conversation_id)
        return conversation

    def _stored_messages(self, conversation_id: str) -> list[Message]:
        if not is_conversation_id(conversation_id):
            raise ConversationNotFound(conversation_id)
        self._check_available()
        if conversation_id not in self._messages:
            raise ConversationNotFound(conversation_id)
        return list(self._messages[conversation_id])

    def _check_available(self) -> None:
        if self.unavailable:
            raise StorageUnavailable("in-memory repository marked unavailable")


def _check_page_size(page_size: int) -> None:
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")
