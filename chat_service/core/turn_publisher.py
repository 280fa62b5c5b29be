"""TurnPublisher: one streamed turn's TurnProgress; numbers its events and sends each to the
worker's live copy and to the event log, and keeps its terminal event in the turn records.

RunningTurns: the streamed turns running in this worker, by turn and by conversation.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from chat_service.core.errors import TurnCancelled, Unavailable
from chat_service.core.models import ToolCall
from chat_service.core.turn_events import (
    EventBody,
    TextDelta,
    TitleReady,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
    TurnEvent,
    TurnFailed,
    TurnStarted,
)
from chat_service.core.turn_events import (
    TurnCancelled as Cancelled,
)
from chat_service.ports.turn_events import (
    EndedTurn,
    EventLogUnavailable,
    TurnEventLog,
    TurnRecords,
)

logger = logging.getLogger(__name__)

Deliver = Callable[[TurnEvent], None]


class TurnPublisher:
    """The event sink of turn `turn_id` of `owner`.

    Events are numbered 1, 2, ... in the order they are published (the title comes from
    another thread: publishing is serialized). Each goes to `deliver` (this worker's live
    copy, for its readers) and to the log: the first one to the log first (`begin`, with the
    owner and the conversation), each later one to the live copy first. A log that fails is
    left for the rest of the turn, which goes on (its readers here still get every event;
    elsewhere a resume gets the terminal event from the records). Only the first terminal
    event is published.

    `stop` (from this worker) or a stop the log reports makes the next `text` or
    `checkpoint` raise TurnCancelled; `text` publishes its delta before it raises, so the
    delta counts as sent.
    """

    def __init__(
        self,
        turn_id: str,
        owner: str,
        *,
        log: TurnEventLog,
        records: TurnRecords,
        deliver: Deliver = lambda event: None,
    ) -> None:
        self.turn_id = turn_id
        self.owner = owner
        self._log = log
        self._records = records
        self._deliver = deliver
        self._lock = threading.Lock()
        self._seq = 0
        self._log_ok = True
        self._stop = threading.Event()
        self.conversation_id = ""
        self.started_event: TurnEvent | None = None
        self.terminal: TurnEvent | None = None

    @property
    def ended(self) -> bool:
        return self.terminal is not None

    def stop(self) -> None:
        """Asks the turn to stop at its next delta or step."""
        self._stop.set()

    # TurnProgress

    def started(self, conversation_id: str, *, new_conversation: bool, title: str) -> None:
        self.conversation_id = conversation_id
        self.started_event = self._publish(TurnStarted(conversation_id, new_conversation, title))

    def text(self, delta: str) -> None:
        self._publish(TextDelta(delta))
        self.checkpoint()

    def tool_started(self, call: ToolCall) -> None:
        self._publish(ToolCallStarted(call.id, call.name, call.arguments))

    def tool_finished(self, call: ToolCall, *, ok: bool, error: str) -> None:
        self._publish(ToolCallFinished(call.id, call.name, ok, error))

    def title(self, title: str) -> None:
        self._publish(TitleReady(title))

    def checkpoint(self) -> None:
        if self._stop.is_set():
            raise TurnCancelled()

    # Terminal events (the edge publishes them: it knows the response and the error codes)

    def completed(self, body: TurnCompleted) -> None:
        self._end(body)

    def failed(self, code: str, msg: str, meta: dict[str, str]) -> None:
        self._end(TurnFailed(code, msg, dict(meta)))

    def cancelled(self, conversation_id: str, partial_text: str) -> None:
        self._end(Cancelled(conversation_id, partial_text))

    def _end(self, body: EventBody) -> None:
        with self._lock:
            if self.terminal is not None:
                logger.error("a second terminal event was dropped", extra={"kind": body.KIND})
                return
        event = self._publish(body)
        if self._log_ok:
            # If this fails, the copy expires anyway, and the records answer resumes.
            with contextlib.suppress(EventLogUnavailable):
                self._log.close(self.turn_id, conversation_id=self.conversation_id)
        try:
            self._records.save(EndedTurn(self.owner, event))
        except Unavailable:
            logger.warning("the ended turn could not be recorded", extra={"turn_id": self.turn_id})

    def _publish(self, body: EventBody) -> TurnEvent:
        with self._lock:
            self._seq += 1
            event = TurnEvent(self.turn_id, self._seq, body)
            if event.terminal:
                self.terminal = event
            if event.seq == 1:
                # Logged before it is delivered: whoever learns the turn's id from it finds
                # the turn (its owner, its conversation's binding) on any worker.
                self._log_event(event)
                self._deliver(event)
            else:
                self._deliver(event)
                self._log_event(event)
            return event

    def _log_event(self, event: TurnEvent) -> None:
        if not self._log_ok:
            return
        try:
            if event.seq == 1:
                stop = self._log.begin(
                    event, owner=self.owner, conversation_id=self.conversation_id
                )
            else:
                stop = self._log.append(event)
        except EventLogUnavailable:
            self._log_ok = False
            logger.warning(
                "turn event log unavailable: the turn goes on without it (it resumes and is"
                " cancelled by conversation only on this worker)",
                extra={"turn_id": self.turn_id},
            )
            return
        if stop:
            self._stop.set()


class RunningTurns:
    """The streamed turns running in this process; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turns: dict[str, TurnPublisher] = {}

    def add(self, turn: TurnPublisher) -> None:
        with self._lock:
            self._turns[turn.turn_id] = turn

    def remove(self, turn_id: str) -> None:
        with self._lock:
            self._turns.pop(turn_id, None)

    def get(self, turn_id: str) -> TurnPublisher | None:
        with self._lock:
            return self._turns.get(turn_id)

    def on_conversation(self, conversation_id: str) -> TurnPublisher | None:
        """Returns the running turn of the conversation, if it runs here."""
        with self._lock:
            for turn in self._turns.values():
                if turn.conversation_id == conversation_id and not turn.ended:
                    return turn
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)
