"""Domain types: frozen dataclasses that travel between the edge, the core and the adapters."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from chat_service.core.usage import ModelCall, UsageTotals
from tools.spec import ToolCall as ToolCall

_CONVERSATION_ID = re.compile(r"[0-9a-f]{24}")


def is_conversation_id(value: str) -> bool:
    """Returns whether `value` has the form of a conversation id (24 lowercase hex digits)."""
    return _CONVERSATION_ID.fullmatch(value) is not None


class Role(enum.Enum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Where a conversation's messages come from (platform, user and chat ids)."""

    platform: str = ""
    user_id: str = ""
    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One stored message of a conversation; `seq` orders it (0-based). An assistant
    message's `calls` are the model calls behind it (see NewMessage).

    An `inactive` message is an alternative a regenerate or an edit replaced: shown, kept,
    never sent to the model again. `version`, `alternative_of` and `model` as in NewMessage.
    """

    id: str
    conversation_id: str
    seq: int
    role: Role
    content: str
    created_at: datetime
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    tool_name: str = ""
    calls: tuple[ModelCall, ...] = ()
    finish_reason: str = ""
    model: str = ""
    inactive: bool = False
    version: int = 1
    alternative_of: str = ""

    @property
    def usage(self) -> UsageTotals:
        """Returns the totals of the model calls behind the message."""
        return UsageTotals.of(self.calls)


CANCELLED = "cancelled"  # finish_reason of a streamed reply stopped by CancelTurn


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message about to be stored.

    An assistant message may carry the tool calls the model made; a TOOL message is the
    result of the call `tool_call_id` to the tool `tool_name`. An assistant message's
    `calls` are the model calls that made it: the step's own call, and on a turn's answer
    also the turn's summary and title calls. `finish_reason` says why an assistant's reply
    ended when it is not an ordinary reply (CANCELLED).
    `model` is the "provider:model" that wrote an assistant's answer. A message written by a
    regenerate or an edit is `version` n > 1 of its turn and names in `alternative_of` the
    message it stands in for (the first of the version before); the version before becomes
    inactive.
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    tool_name: str = ""
    calls: tuple[ModelCall, ...] = ()
    finish_reason: str = ""
    model: str = ""
    version: int = 1
    alternative_of: str = ""


@dataclass(frozen=True, slots=True)
class Summary:
    """A summary of a conversation's messages with seq in [first_seq, end_seq)."""

    content: str
    first_seq: int
    end_seq: int


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation's header; its messages are stored apart. `model` is the chosen model
    ("" for the default), `instructions` the conversation's standing instructions."""

    id: str
    owner: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int = 0
    session: SessionInfo = field(default_factory=SessionInfo)
    model: str = ""
    instructions: str = ""


@dataclass(frozen=True, slots=True)
class ConversationPage:
    """One page of conversations, newest first; `next_token` is empty on the last page."""

    conversations: tuple[Conversation, ...]
    next_token: str = ""


@dataclass(frozen=True, slots=True)
class MessagePage:
    """One page of a conversation's messages, oldest first; `next_token` is empty at the end."""

    messages: tuple[Message, ...]
    next_token: str = ""


@dataclass(frozen=True, slots=True)
class StartTurn:
    """Command: start a conversation with a first user message, on `model` ("" for the
    default) with standing `instructions` (may be empty); `key_id` names the API key that
    asked ("" when unknown), for usage and budgets; `turn_id` names the turn (its usage
    records, its stream), a new one when empty."""

    owner: str
    message: str
    session: SessionInfo = field(default_factory=SessionInfo)
    idempotency_key: str = ""
    key_id: str = ""
    turn_id: str = ""
    model: str = ""
    instructions: str = ""


@dataclass(frozen=True, slots=True)
class ContinueTurn:
    """Command: add a user message to a conversation, named by id or by the client's session;
    `key_id` and `turn_id` as in StartTurn."""

    owner: str
    conversation_id: str
    message: str
    session: SessionInfo = field(default_factory=SessionInfo)
    idempotency_key: str = ""
    key_id: str = ""
    turn_id: str = ""


@dataclass(frozen=True, slots=True)
class StartedConversation:
    """Result of StartTurn; `usage` totals the turn's model calls."""

    conversation_id: str
    title: str
    reply: str
    usage: UsageTotals = field(default_factory=UsageTotals)


@dataclass(frozen=True, slots=True)
class ContinuedConversation:
    """Result of ContinueTurn: the reply and the conversation it went to.

    `new_conversation` is True when a session had none active, so the turn started one
    (then `title` is its title). `usage` totals the turn's model calls.
    """

    conversation_id: str
    reply: str
    new_conversation: bool = False
    title: str = ""
    usage: UsageTotals = field(default_factory=UsageTotals)


@dataclass(frozen=True, slots=True)
class ConversationDetail:
    """A conversation with one page of its messages."""

    conversation: Conversation
    messages: MessagePage
