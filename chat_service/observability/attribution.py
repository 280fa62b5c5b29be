"""Who a model call is for (owner, platform, user; the turn and API key) and what it is for
(reply, title).

Context variables: the chat use cases bind them once per turn, the model and tool
observers read them. Threads started with `contextvars.copy_context().run` (and anyio's
to_thread) see the values of the request that started them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attribution:
    """The owner (API key) and the platform user a call is made for; empty when unknown."""

    owner: str = ""
    platform: str = ""
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class TurnRef:
    """The turn a call belongs to and the API key (its id) that asked for it; "" when unknown."""

    turn_id: str = ""
    key_id: str = ""


_NOBODY = Attribution()
_NO_TURN = TurnRef()
_turn: ContextVar[TurnRef | None] = ContextVar("turn", default=None)
_attribution: ContextVar[Attribution | None] = ContextVar("attribution", default=None)
_operation: ContextVar[str] = ContextVar("llm_operation", default="chat")


def bind_attribution(*, owner: str, platform: str = "", user_id: str = "") -> None:
    """Attributes the model and tool calls made from here on in this context."""
    _attribution.set(Attribution(owner, platform, user_id))


def current_attribution() -> Attribution:
    """Returns the attribution bound in this context (empty fields when none)."""
    return _attribution.get() or _NOBODY


def bind_turn(*, turn_id: str, key_id: str = "") -> None:
    """Records that the model calls made from here on in this context belong to `turn_id`,
    asked for with the API key `key_id`."""
    _turn.set(TurnRef(turn_id, key_id))


def current_turn() -> TurnRef:
    """Returns the turn bound in this context (empty fields when none)."""
    return _turn.get() or _NO_TURN


@contextmanager
def llm_operation(name: str) -> Iterator[None]:
    """Labels the model calls made inside the block (`reply`, `title`, `summary`...)."""
    token = _operation.set(name)
    try:
        yield
    finally:
        _operation.reset(token)


def current_operation() -> str:
    """Returns the operation of the model calls made now (`chat` outside any block)."""
    return _operation.get()
