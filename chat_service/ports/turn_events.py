"""The ports of streamed turns: TurnEventLog (every worker's copy of each turn's events and
stop requests, e.g. Redis) and TurnRecords (each ended turn's last event, e.g. MongoDB)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chat_service.core.turn_events import TurnEvent


class EventLogUnavailable(Exception):
    """The event log cannot be reached; the caller falls back (the turn itself goes on)."""


@dataclass(frozen=True, slots=True)
class EndedTurn:
    """What is kept of a turn after it ended: its owner and its terminal event."""

    owner: str
    terminal: TurnEvent


class TurnEventLog(Protocol):
    """Each turn's events in seq order, bounded, kept a while after the terminal event.

    One writer per turn appends; any number of readers, on any worker, read after a seq.
    Every method raises EventLogUnavailable when the log cannot be reached.
    """

    def begin(self, first: TurnEvent, *, owner: str, conversation_id: str) -> bool:
        """Records that `owner` runs the turn and that it is the running turn of
        `conversation_id` (none when ""), and appends the turn's first event, all at once
        (before anyone is told the turn's id); returns whether a stop was requested."""
        ...

    def owner(self, turn_id: str) -> str | None:
        """Returns the turn's owner, None for a turn the log does not know (or forgot)."""
        ...

    def append(self, event: TurnEvent) -> bool:
        """Appends the event; returns whether a stop of the turn was requested.

        An adapter may write an event a moment after `append` returns (in order, batched
        with other turns' events); then `close` and `read_after` wait for the turn's
        events to be written, and a failed write raises at the turn's next call."""
        ...

    def close(self, turn_id: str, *, conversation_id: str) -> None:
        """After the terminal event: the turn's copy expires in a few minutes, and it is
        no longer the running turn of `conversation_id`."""
        ...

    def read_after(self, turn_id: str, after: int) -> list[TurnEvent]:
        """Returns the turn's events with seq > `after`, in order (empty if none or unknown)."""
        ...

    def wait(self, turn_id: str, after: int, *, timeout_s: float) -> list[TurnEvent]:
        """As read_after, but waits up to `timeout_s` for an event when there is none yet."""
        ...

    def running_turn(self, conversation_id: str) -> str | None:
        """Returns the running streamed turn of the conversation, if any."""
        ...

    def request_stop(self, turn_id: str) -> None:
        """Asks the turn, wherever it runs, to stop (its next append says so)."""
        ...


class TurnRecords(Protocol):
    """Ended turns, kept after the event log forgot them. Raise StorageUnavailable."""

    def save(self, ended: EndedTurn) -> None:
        """Stores the turn's owner and terminal event (again: no change)."""
        ...

    def find(self, turn_id: str) -> EndedTurn | None:
        """Returns the ended turn, None if there is none with that id."""
        ...
