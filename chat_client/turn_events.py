"""The events of a streamed turn, as typed frozen dataclasses read from the stream's SSE.

Each SSE event's `data` is the proto `TurnEvent` as JSON; it is decoded through the generated
message (so names, types and int64-as-string follow the proto) and becomes one of the classes
below. Every event has the turn's `seq` (1, 2, 3, ...) and `turn_id`; exactly one terminal
event (`TurnCompleted`, `TurnFailed`, `TurnCancelled`) ends a turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from google.protobuf import json_format

from chat_client.errors import ERROR_TYPES, Internal, TwirpError, Unknown
from chat_client.sse import SseMessage
from gen.acai.chat import chat_pb2 as pb


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """What every event has: its position in the turn and the turn's id."""

    terminal: ClassVar[bool] = False

    seq: int
    turn_id: str


@dataclass(frozen=True, slots=True)
class TurnStarted(TurnEvent):
    """The turn runs (it passed validation, the limits and the conversation's lock);
    `title` is the conversation's title when it has one already."""

    conversation_id: str
    new_conversation: bool
    title: str


@dataclass(frozen=True, slots=True)
class TitleReady(TurnEvent):
    """A new conversation's generated title."""

    title: str


@dataclass(frozen=True, slots=True)
class TextDelta(TurnEvent):
    """The next piece of text. The text of a step that then calls tools streams too; the
    reply is `TurnCompleted.reply`."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted(TurnEvent):
    """The assistant calls a tool; `arguments` is a JSON object as text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCallFinished(TurnEvent):
    """A tool call ended; `error` says why when `ok` is False."""

    id: str
    name: str
    ok: bool
    error: str


@dataclass(frozen=True, slots=True)
class TurnCompleted(TurnEvent):
    """The turn is stored: what the unary call would have answered. `method` is "start"
    (StartConversation), "continue", "regenerate" (RegenerateReply) or "edit"
    (EditLastMessage); the last two have no title and `new_conversation` False."""

    terminal: ClassVar[bool] = True

    method: str
    conversation_id: str
    reply: str
    title: str
    new_conversation: bool


@dataclass(frozen=True, slots=True)
class TurnFailed(TurnEvent):
    """The turn failed after it started; nothing of it is stored. `error` is the SDK's
    exception for the code (`raise event.error`)."""

    terminal: ClassVar[bool] = True

    code: str
    msg: str
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def error(self) -> TwirpError:
        """The `TwirpError` subclass of the code, with the message and meta."""
        return ERROR_TYPES.get(self.code, Unknown)(self.msg, meta=self.meta)


@dataclass(frozen=True, slots=True)
class TurnCancelled(TurnEvent):
    """The turn was stopped by CancelTurn; `partial_text` (the text sent before the stop)
    is stored as the reply, with finish_reason "cancelled", unless it is empty."""

    terminal: ClassVar[bool] = True

    conversation_id: str
    partial_text: str


def event_from(message: SseMessage) -> TurnEvent | None:
    """Returns the event of one SSE message, or None for a kind this SDK does not know (a
    newer server's). Raises `Internal` when the data is not a TurnEvent."""
    proto = pb.TurnEvent()
    try:
        json_format.Parse(message.data, proto, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise Internal(f"undecodable {message.event!r} event in the turn's stream") from exc
    kind = proto.WhichOneof("event")
    if kind is None:
        return None
    seq, turn_id = proto.seq, proto.turn_id
    if kind == "started":
        s = proto.started
        return TurnStarted(seq, turn_id, s.conversation_id, s.new_conversation, s.title)
    if kind == "title":
        return TitleReady(seq, turn_id, proto.title.title)
    if kind == "delta":
        return TextDelta(seq, turn_id, proto.delta.text)
    if kind == "tool_call_started":
        t = proto.tool_call_started
        return ToolCallStarted(seq, turn_id, t.id, t.name, t.arguments)
    if kind == "tool_call_finished":
        f = proto.tool_call_finished
        return ToolCallFinished(seq, turn_id, f.id, f.name, f.ok, f.error)
    if kind == "completed":
        return _completed(seq, turn_id, proto.completed)
    if kind == "failed":
        e = proto.failed
        return TurnFailed(seq, turn_id, e.code, e.msg, dict(e.meta))
    if kind == "cancelled":
        c = proto.cancelled
        return TurnCancelled(seq, turn_id, c.conversation_id, c.partial_text)
    return None


def _completed(seq: int, turn_id: str, completed: pb.TurnCompleted) -> TurnCompleted:
    response = completed.WhichOneof("response")
    if response == "start":
        s = completed.start
        return TurnCompleted(seq, turn_id, "start", s.conversation_id, s.reply, s.title, True)
    if response in ("regenerate", "edit"):
        r = completed.regenerate if response == "regenerate" else completed.edit
        return TurnCompleted(seq, turn_id, response, r.conversation_id, r.reply, "", False)
    c = getattr(completed, "continue")  # a Python keyword
    return TurnCompleted(
        seq, turn_id, "continue", c.conversation_id, c.reply, c.title, c.new_conversation
    )
