"""Typed results of the SDK: frozen dataclasses built from the service's answers.

Answers arrive as protobuf or JSON; both are first turned into the same dictionary (proto
field names, defaults included), which the `*_from` functions below read. Fields the service
adds later are ignored until a dataclass names them, so an older SDK keeps working.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Wire = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SessionMetadata:
    """Where a message comes from: the client's platform ("telegram", "web", "cli"...), the
    user and the chat. The service uses it to keep one conversation per chat."""

    platform: str
    user_id: str = ""
    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class StartedConversation:
    """The answer to a conversation's first message."""

    conversation_id: str
    title: str
    reply: str
    turn_id: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """The assistant's answer to a message of an existing conversation."""

    reply: str
    turn_id: str = ""


@dataclass(frozen=True, slots=True)
class TurnCancellation:
    """The answer to CancelTurn: whether the turn was stopped now (False: it had already
    ended), and which turn that is (the running one, when named by its conversation)."""

    cancelled: bool
    turn_id: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool the assistant called while answering: its name and JSON arguments."""

    name: str
    arguments: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One message; `role` is the API's role name ("USER", "ASSISTANT", "TOOL"...).
    `finish_reason` is "" for an ordinary reply, "cancelled" for one stopped by CancelTurn.
    An `inactive` message is an alternative a regenerate or an edit replaced; `version` is
    the version of its turn (1 as first answered), `alternative_of` the id of the message a
    later version replaced, `model` the model that wrote an answer.
    """

    id: str
    role: str
    content: str
    timestamp: datetime | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = ""
    inactive: bool = False
    version: int = 1
    alternative_of: str = ""
    model: str = ""


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation; `messages` is empty in lists and holds one page (or all) otherwise.
    `model` is its chosen model ("" for the server's default), `instructions` its own."""

    id: str
    title: str
    timestamp: datetime | None
    messages: tuple[Message, ...] = ()
    model: str = ""
    instructions: str = ""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model a conversation may choose: `id` ("openai:gpt-4o-mini") is what
    `start_conversation(model=...)` takes. Prices are USD per million tokens, None when the
    server does not know them."""

    id: str
    display_name: str
    provider: str
    is_default: bool = False
    input_usd_per_million: float | None = None
    output_usd_per_million: float | None = None


@dataclass(frozen=True, slots=True)
class ConversationPage:
    """One page of conversations, newest first; `next_page_token` is empty on the last."""

    conversations: tuple[Conversation, ...]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class ConversationDetail:
    """A conversation with one page of its messages, oldest first."""

    conversation: Conversation
    next_page_token: str


@dataclass(frozen=True, slots=True)
class Health:
    """The service's /health report: "healthy", "degraded" or "unhealthy", per dependency."""

    status: str
    checks: Mapping[str, str] = field(default_factory=dict)
    http_status: int = 200


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Tokens, USD cost, provider calls, turns and turns answered from the response cache."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    turns: int = 0
    cached_turns: int = 0


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """One model's share of a period's usage."""

    provider: str
    model: str
    totals: UsageTotals


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """One UTC day's usage (`date` as YYYY-MM-DD), in all and by model."""

    date: str
    totals: UsageTotals
    models: tuple[ModelUsage, ...] = ()


@dataclass(frozen=True, slots=True)
class UsageReport:
    """The caller's usage from `start_date` to `end_date` (inclusive, UTC days)."""

    start_date: str
    end_date: str
    total: UsageTotals
    days: tuple[DailyUsage, ...] = ()
    models: tuple[ModelUsage, ...] = ()


def usage_from(wire: Wire) -> UsageReport:
    return UsageReport(
        start_date=str(wire.get("start_date", "")),
        end_date=str(wire.get("end_date", "")),
        total=_totals(wire.get("total") or {}),
        days=tuple(
            DailyUsage(
                date=str(day.get("date", "")),
                totals=_totals(day.get("totals") or {}),
                models=tuple(_model_usage(m) for m in day.get("models", ())),
            )
            for day in wire.get("days", ())
        ),
        models=tuple(_model_usage(m) for m in wire.get("models", ())),
    )


def _totals(wire: Wire) -> UsageTotals:
    # int64 fields arrive as strings in JSON answers, as numbers in protobuf ones.
    return UsageTotals(
        input_tokens=int(wire.get("input_tokens", 0)),
        output_tokens=int(wire.get("output_tokens", 0)),
        cost_usd=float(wire.get("cost_usd", 0.0)),
        calls=int(wire.get("calls", 0)),
        turns=int(wire.get("turns", 0)),
        cached_turns=int(wire.get("cached_turns", 0)),
    )


def _model_usage(wire: Wire) -> ModelUsage:
    return ModelUsage(
        provider=str(wire.get("provider", "")),
        model=str(wire.get("model", "")),
        totals=_totals(wire.get("totals") or {}),
    )


def started_from(wire: Wire) -> StartedConversation:
    return StartedConversation(
        conversation_id=str(wire.get("conversation_id", "")),
        title=str(wire.get("title", "")),
        reply=str(wire.get("reply", "")),
        turn_id=str(wire.get("turn_id", "")),
    )


def reply_from(wire: Wire) -> Reply:
    return Reply(reply=str(wire.get("reply", "")), turn_id=str(wire.get("turn_id", "")))


def cancellation_from(wire: Wire) -> TurnCancellation:
    return TurnCancellation(
        cancelled=bool(wire.get("cancelled", False)), turn_id=str(wire.get("turn_id", ""))
    )


def models_from(wire: Wire) -> tuple[ModelInfo, ...]:
    return tuple(model_from(m) for m in wire.get("models", ()))


def model_from(wire: Wire) -> ModelInfo:
    priced = bool(wire.get("priced", False))
    return ModelInfo(
        id=str(wire.get("id", "")),
        display_name=str(wire.get("display_name", "")),
        provider=str(wire.get("provider", "")),
        is_default=bool(wire.get("is_default", False)),
        input_usd_per_million=float(wire.get("input_usd_per_million", 0)) if priced else None,
        output_usd_per_million=float(wire.get("output_usd_per_million", 0)) if priced else None,
    )


def instructions_from(wire: Wire) -> str:
    return str(wire.get("instructions", ""))


def page_from(wire: Wire) -> ConversationPage:
    return ConversationPage(
        conversations=tuple(conversation_from(c) for c in wire.get("conversations", ())),
        next_page_token=str(wire.get("next_page_token", "")),
    )


def detail_from(wire: Wire) -> ConversationDetail:
    return ConversationDetail(
        conversation=conversation_from(wire.get("conversation") or {}),
        next_page_token=str(wire.get("next_page_token", "")),
    )


def deleted_from(wire: Wire) -> bool:
    return bool(wire.get("deleted", False))


def updated_from(wire: Wire) -> Conversation:
    return conversation_from(wire.get("conversation") or {})


def conversation_from(wire: Wire) -> Conversation:
    return Conversation(
        id=str(wire.get("id", "")),
        title=str(wire.get("title", "")),
        timestamp=_timestamp(wire.get("timestamp")),
        messages=tuple(message_from(m) for m in wire.get("messages", ())),
        model=str(wire.get("model", "")),
        instructions=str(wire.get("instructions", "")),
    )


def message_from(wire: Wire) -> Message:
    return Message(
        id=str(wire.get("id", "")),
        role=str(wire.get("role", "UNKNOWN")),
        content=str(wire.get("content", "")),
        timestamp=_timestamp(wire.get("timestamp")),
        tool_calls=tuple(tool_call_from(c) for c in wire.get("tool_calls", ())),
        finish_reason=str(wire.get("finish_reason", "")),
        inactive=bool(wire.get("inactive", False)),
        version=int(wire.get("version", 0) or 1),
        alternative_of=str(wire.get("alternative_of", "")),
        model=str(wire.get("model", "")),
    )


def tool_call_from(wire: Wire) -> ToolCall:
    arguments = wire.get("arguments", "")
    if not isinstance(arguments, str):  # a Struct arrives as an object
        arguments = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
    return ToolCall(name=str(wire.get("name", "")), arguments=arguments, id=str(wire.get("id", "")))


def joined(pages: Sequence[ConversationDetail]) -> Conversation:
    """Returns the conversation of the first of `pages` with the messages of them all."""
    first = pages[0].conversation
    messages = tuple(m for page in pages for m in page.conversation.messages)
    return Conversation(
        first.id, first.title, first.timestamp, messages, first.model, first.instructions
    )


def health_from(wire: Wire, *, http_status: int) -> Health:
    checks = wire.get("checks")
    return Health(
        status=str(wire.get("status", "unknown")),
        checks={str(k): str(v) for k, v in checks.items()} if isinstance(checks, dict) else {},
        http_status=http_status,
    )


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
