"""How the tool loop reports a streamed reply: its tool calls, and what a stop leaves."""

from __future__ import annotations

import json
from collections.abc import Sequence

from chat_service.core.models import CANCELLED, NewMessage, Role, ToolCall
from chat_service.core.replies import CancelledReply
from chat_service.core.turn_events import TurnProgress
from tools.runner import ToolResult, ToolRunner


def run_tools(
    tools: ToolRunner,
    calls: Sequence[ToolCall],
    *,
    owner: str,
    progress: TurnProgress | None,
) -> Sequence[ToolResult]:
    """Runs one step's calls (ToolRunner.run_all), reporting each to `progress`."""
    if progress is None:
        return tools.run_all(calls, owner=owner)
    for call in calls:
        progress.tool_started(call)
    results = tools.run_all(calls, owner=owner)
    for result in results:
        error = "" if result.ok else _tool_error(result.content)
        progress.tool_finished(result.call, ok=result.ok, error=error)
    return results


def cancelled_reply(added: list[NewMessage], partial_text: str) -> CancelledReply:
    """Returns the stop of a turn whose reply had streamed `partial_text` so far."""
    if not partial_text:
        return CancelledReply((), "")
    reply = NewMessage(Role.ASSISTANT, partial_text, finish_reason=CANCELLED)
    return CancelledReply((*added, reply), partial_text)


def _tool_error(content: str) -> str:
    """Returns the error a failed tool call's result names ({"error": "..."}), or its text."""
    try:
        error = json.loads(content).get("error")
    except (ValueError, AttributeError):
        error = None
    return str(error) if error else content[:200]
