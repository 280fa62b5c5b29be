"""TurnControl: finds a caller's streamed turn wherever it runs, and stops it."""

from __future__ import annotations

from dataclasses import dataclass

from chat_service.core.errors import InvalidRequest, TurnNotFound, Unavailable
from chat_service.core.models import is_conversation_id
from chat_service.core.turn_events import is_turn_id
from chat_service.core.turn_publisher import RunningTurns
from chat_service.ports.turn_events import EventLogUnavailable, TurnEventLog, TurnRecords


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """`cancelled` is False when the turn had already ended."""

    cancelled: bool
    turn_id: str


class TurnControl:
    """Stops streamed turns: one running in this worker at once, one elsewhere through the
    event log (its next delta or step sees the request). Owner-scoped: another owner's turn
    is TurnNotFound."""

    def __init__(self, running: RunningTurns, log: TurnEventLog, records: TurnRecords) -> None:
        self._running = running
        self._log = log
        self._records = records

    def cancel(self, *, owner: str, turn_id: str, conversation_id: str) -> CancelOutcome:
        """Stops the turn `turn_id`, or else the running turn of `conversation_id`.

        Raises InvalidRequest (neither given, or malformed), TurnNotFound, Unavailable (the
        log and the records are both out of reach).
        """
        turn_id = turn_id.strip()
        conversation_id = conversation_id.strip()
        if turn_id:
            if not is_turn_id(turn_id):
                raise InvalidRequest("turn_id", "turn_id is not a valid id")
        elif conversation_id:
            if not is_conversation_id(conversation_id):
                raise InvalidRequest("conversation_id", "conversation_id is not a valid id")
            turn_id = self._running_turn(conversation_id)
        else:
            raise InvalidRequest("turn_id", "turn_id or conversation_id is required")
        local = self._running.get(turn_id)
        if local is not None:
            if local.owner != owner:
                raise TurnNotFound()
            if local.ended:
                return CancelOutcome(False, turn_id)
            local.stop()
            return CancelOutcome(True, turn_id)
        return CancelOutcome(self._cancel_elsewhere(owner, turn_id), turn_id)

    def _running_turn(self, conversation_id: str) -> str:
        local = self._running.on_conversation(conversation_id)
        if local is not None:
            return local.turn_id
        try:
            found = self._log.running_turn(conversation_id)
        except EventLogUnavailable:
            raise Unavailable("running turns cannot be looked up now; retry later") from None
        if found is None:
            raise TurnNotFound()
        return found

    def _cancel_elsewhere(self, owner: str, turn_id: str) -> bool:
        log_down = False
        try:
            runner = self._log.owner(turn_id)
        except EventLogUnavailable:
            runner, log_down = None, True
        ended = self._records.find(turn_id)
        if ended is not None:
            if ended.owner != owner:
                raise TurnNotFound()
            return False
        if runner is None:
            if log_down:
                raise Unavailable("running turns cannot be reached now; retry later")
            raise TurnNotFound()
        if runner != owner:
            raise TurnNotFound()
        try:
            self._log.request_stop(turn_id)
        except EventLogUnavailable:
            raise Unavailable("the turn cannot be reached now; retry later") from None
        return True
