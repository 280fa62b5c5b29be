"""How the CLI prints conversations: text for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from chat_client import Conversation, Health, Message, ModelInfo

_ID_WIDTH = 24
_TIME_WIDTH = 16


def when(moment: datetime | None, *, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Returns `moment` in UTC as `fmt`, or "-" when unknown."""
    return moment.strftime(fmt) if moment else "-"


def conversation_table(conversations: Sequence[Conversation], *, header: bool = True) -> str:
    """Returns the conversations as a table: id, last update (UTC), title."""
    lines = [f"{'ID':<{_ID_WIDTH}}  {'UPDATED (UTC)':<{_TIME_WIDTH}}  TITLE"] if header else []
    lines += [
        f"{c.id:<{_ID_WIDTH}}  {when(c.timestamp):<{_TIME_WIDTH}}  {c.title or '(untitled)'}"
        for c in conversations
    ]
    return "\n".join(lines)


def conversation_header(conversation: Conversation) -> str:
    """Returns the id, title and last update of a conversation, and its model and
    instructions when it has them."""
    lines = [
        f"Conversation {conversation.id}",
        f"Title:   {conversation.title or '(untitled)'}",
        f"Updated: {when(conversation.timestamp, fmt='%Y-%m-%d %H:%M:%S')} UTC",
    ]
    if conversation.model:  # none chosen: the server's default
        lines.append(f"Model:   {conversation.model}")
    if conversation.instructions:
        lines.append(f"Instructions: {conversation.instructions}")
    return "\n".join(lines)


def message_block(message: Message) -> str:
    """Returns a message: "ROLE · HH:MM:SS" (with the model that answered, and its version
    when the turn was regenerated or edited, marked "replaced" when inactive), its tool
    calls, then its text."""
    heading = f"{message.role} · {when(message.timestamp, fmt='%H:%M:%S')}"
    if message.model:
        heading += f" · {message.model}"
    if message.version > 1 or message.inactive:
        heading += f" · version {message.version}"
    if message.inactive:
        heading += " (replaced)"
    lines = [heading]
    lines += [f"  ↳ tool {call.name}({call.arguments})" for call in message.tool_calls]
    if message.content:
        lines.append(message.content)
    return "\n".join(lines)


def conversation_text(conversation: Conversation) -> str:
    """Returns the header and every message of a conversation, blank-line separated."""
    return "\n\n".join(
        [conversation_header(conversation), *map(message_block, conversation.messages)]
    )


def model_table(models: Sequence[ModelInfo]) -> str:
    """Returns the models as a table: id, name, and "default" on the default's row."""
    width = max([len(m.id) for m in models] + [2])
    lines = [f"{'ID':<{width}}  NAME"]
    lines += [
        f"{m.id:<{width}}  {m.display_name}{'  (default)' if m.is_default else ''}" for m in models
    ]
    return "\n".join(lines)


def health_text(health: Health) -> str:
    """Returns "healthy (mongodb ok, redis ok)" and the like."""
    checks = ", ".join(f"{name} {state}" for name, state in health.checks.items())
    return f"{health.status} ({checks})" if checks else health.status


def as_json(value: Any) -> str:
    """Returns a dataclass (or a structure of them) as indented JSON; datetimes as ISO 8601."""
    return json.dumps(_plain(value), indent=2, ensure_ascii=False, default=_iso)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
