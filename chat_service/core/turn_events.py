"""A streamed turn's events, and the TurnProgress the core reports a running turn to.

Every event of a turn has a `seq` (1, 2, 3, ...). The first is TurnStarted; exactly one
terminal event (TurnCompleted, TurnFailed, TurnCancelled) is the last. `KIND` is the name
clients see (the TurnEvent oneof field of the proto).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from chat_service.core.models import ToolCall
from chat_service.core.usage import ModelCall


def new_turn_id() -> str:
    """Returns a fresh turn id: 32 lowercase hex digits."""
    return secrets.token_hex(16)


def idempotent_turn_id(owner: str, method: str, idempotency_key: str) -> str:
    """Returns the turn id of an idempotent unary request: the same for every repeat, so a
    repeat's response is the first one's."""
    digest = hashlib.sha256(json.dumps(["turn", owner, method, idempotency_key]).encode())
    return digest.hexdigest()[:32]


def is_turn_id(value: str) -> bool:
    """Returns whether `value` has the form of a turn id."""
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


@dataclass(frozen=True, slots=True)
class TurnStarted:
    """The turn runs (past validation, limits and the conversation's lock)."""

    KIND: ClassVar[str] = "started"
    conversation_id: str
    new_conversation: bool = False
    title: str = ""


@dataclass(frozen=True, slots=True)
class TitleReady:
    """A new conversation's generated title."""

    KIND: ClassVar[str] = "title"
    title: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    """The next piece of the reply's text."""

    KIND: ClassVar[str] = "delta"
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """The assistant calls a tool."""

    KIND: ClassVar[str] = "tool_call_started"
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A tool call ended; `error` says why when not `ok`."""

    KIND: ClassVar[str] = "tool_call_finished"
    id: str
    name: str
    ok: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class TurnCompleted:
    """The turn is stored; the unary method's response. `method` is "start", "continue",
    "regenerate" or "edit";
    `calls` are the turn's model calls (its usage)."""

    KIND: ClassVar[str] = "completed"
    method: str
    conversation_id: str
    reply: str
    title: str = ""
    new_conversation: bool = False
    calls: tuple[ModelCall, ...] = ()


@dataclass(frozen=True, slots=True)
class TurnFailed:
    """The turn failed after it started (a Twirp error); nothing of it is stored."""

    KIND: ClassVar[str] = "failed"
    code: str
    msg: str
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TurnCancelled:
    """The turn was stopped; `partial_text` is the reply stored with finish_reason cancelled."""

    KIND: ClassVar[str] = "cancelled"
    conversation_id: str
    partial_text: str = ""


EventBody = (
    TurnStarted
    | TitleReady
    | TextDelta
    | ToolCallStarted
    | ToolCallFinished
    | TurnCompleted
    | TurnFailed
    | TurnCancelled
)
TERMINAL_KINDS = frozenset({TurnCompleted.KIND, TurnFailed.KIND, TurnCancelled.KIND})
_BODIES: dict[str, type[Any]] = {
    cls.KIND: cls
    for cls in (
        TurnStarted,
        TitleReady,
        TextDelta,
        ToolCallStarted,
        ToolCallFinished,
        TurnCompleted,
        TurnFailed,
        TurnCancelled,
    )
}


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """One event of the turn `turn_id`, numbered `seq` from 1."""

    turn_id: str
    seq: int
    body: EventBody

    @property
    def kind(self) -> str:
        return self.body.KIND

    @property
    def terminal(self) -> bool:
        return self.body.KIND in TERMINAL_KINDS


def encode_event(event: TurnEvent) -> str:
    """Returns the event as compact JSON, for the stores (decode_event reads it back)."""
    return json.dumps(
        {"t": event.turn_id, "s": event.seq, "k": event.kind, "b": asdict(event.body)},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def decode_event(text: str | bytes) -> TurnEvent:
    """Returns the event `encode_event` wrote; raises ValueError on anything else."""
    try:
        data = json.loads(text)
        fields = data["b"]
        if "calls" in fields:
            fields["calls"] = tuple(ModelCall.from_json(c) for c in fields["calls"])
        body = _BODIES[data["k"]](**fields)
        return TurnEvent(str(data["t"]), int(data["s"]), body)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not an encoded turn event: {exc}") from None


class TurnProgress(Protocol):
    """What a running turn reports as it goes (a streamed turn's event sink).

    `text` and `checkpoint` raise TurnCancelled once the turn was asked to stop; the
    other methods never raise.
    """

    def started(self, conversation_id: str, *, new_conversation: bool, title: str) -> None:
        """The turn passed every refusal and runs on `conversation_id`."""
        ...

    def text(self, delta: str) -> None:
        """A piece of the reply's text, sent on before the check for a stop."""
        ...

    def tool_started(self, call: ToolCall) -> None: ...

    def tool_finished(self, call: ToolCall, *, ok: bool, error: str) -> None: ...

    def title(self, title: str) -> None:
        """A new conversation's title is ready (may come from another thread)."""
        ...

    def checkpoint(self) -> None:
        """Raises TurnCancelled if the turn was asked to stop."""
        ...
