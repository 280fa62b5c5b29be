"""ConversationRepository: the port through which the core stores conversations and messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chat_service.core.errors import InvalidRequest
from chat_service.core.models import (
    Conversation,
    ConversationPage,
    Message,
    MessagePage,
    NewMessage,
    SessionInfo,
    Summary,
)
from chat_service.ports.idempotency import Receipt


class InvalidPageToken(InvalidRequest):
    """A page token was not issued by this service (or was altered)."""

    def __init__(self) -> None:
        super().__init__("page_token", "page_token is invalid")


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What a turn reads before it asks the model: the conversation's header, its latest
    summary (None if there is none) and the last messages after that summary, oldest first,
    without their usage (`calls` is empty: a prompt needs none of it)."""

    header: Conversation
    summary: Summary | None
    messages: list[Message]


class ConversationRepository(Protocol):
    """Stores conversations (headers) and their messages (one record per message).

    Every method that names a conversation raises ConversationNotFound when it does not
    exist or belongs to another owner, and StorageUnavailable when the store is down.
    """

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
        """Stores a new conversation with its first messages, all or nothing; returns it.
        `model` ("" for the default) and `instructions` are the conversation's settings.

        With a `receipt`, completes its idempotency record in the same transaction (raises
        TurnConflict, storing nothing, if the claim was lost). `conversation_id` is the id
        `new_conversation_id` gave, when the turn had to name the conversation before storing
        it; empty: a new one."""
        ...

    def new_conversation_id(self) -> str:
        """Returns a fresh conversation id for `create` (nothing is stored)."""
        ...

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
        """Appends messages with consecutive seqs (and stores `summary`), all or nothing,
        safe under concurrency. The messages with seq in `deactivate` [first, end) become
        inactive in the same write (the alternatives a regenerate or an edit replaces).

        With `expected_count`, appends only if the conversation still has that many messages
        (the version the turn read), else raises TurnConflict. `read`, the header as the turn
        read it, implies `expected_count=read.message_count`, and lets the store return the
        updated header without reading it back. A `receipt` is completed as in `create`.
        Returns the updated header.
        """
        ...

    def get(self, *, owner: str, conversation_id: str) -> Conversation:
        """Returns the conversation header."""
        ...

    def turn_context(
        self, *, owner: str, conversation_id: str, history_messages: int
    ) -> TurnContext:
        """Returns the header, the latest summary and at most `history_messages` of the last
        messages after it (the turn's whole read, in as few round trips as the store can)."""
        ...

    def recent_messages(
        self,
        *,
        owner: str,
        conversation_id: str,
        limit: int,
        first_seq: int = 0,
        before_seq: int | None = None,
    ) -> list[Message]:
        """Returns the last `limit` messages with seq >= `first_seq` (and < `before_seq`),
        oldest first.

        Raises ConversationNotFound if the owner has no such conversation.
        """
        ...

    def last_turn(self, *, owner: str, conversation_id: str) -> list[Message]:
        """Returns the last active user message and every message after it (inactive
        alternatives included), oldest first; [] when there is no user message. Its cost
        does not grow with the conversation's length. Raises ConversationNotFound if the owner
        has no such conversation."""
        ...

    def latest_summary(self, *, conversation_id: str) -> Summary | None:
        """Returns the summary with the highest end_seq, or None (no owner check)."""
        ...

    def list_conversations(
        self, *, owner: str, page_size: int, page_token: str
    ) -> ConversationPage:
        """Returns one page of the owner's conversations, newest first.

        Raises InvalidPageToken for a token it did not issue.
        """
        ...

    def list_messages(
        self, *, owner: str, conversation_id: str, page_size: int, page_token: str
    ) -> MessagePage:
        """Returns one page of a conversation's messages, oldest first.

        Raises ConversationNotFound if the owner has no such conversation, InvalidPageToken
        for a token it did not issue.
        """
        ...

    def delete(self, *, owner: str, conversation_id: str, now: datetime) -> bool:
        """Removes the conversation with its messages and summaries, and the sessions and
        idempotency records that name it. Returns True when this call deleted it, False when
        the owner had deleted it before (the clean-up runs again: a deletion interrupted
        half-way completes on retry). A turn appending meanwhile fails with
        ConversationNotFound and stores nothing."""
        ...

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
        """Changes the settings that are not None: the title the owner chose (generated
        titles never replace it), the model and the instructions ("" for none: the
        default model, no instructions). Returns the updated header."""
        ...

    def ping(self) -> None:
        """Returns when the store answers; raises StorageUnavailable otherwise."""
        ...
