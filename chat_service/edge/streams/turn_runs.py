"""StreamTurns: starts streamed turns on the turn threads and publishes how each ends."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from google.protobuf.message import Message as ProtoMessage

from chat_service.core.chat import Chat
from chat_service.core.errors import TurnCancelled
from chat_service.core.turn_events import TurnCompleted, TurnProgress, new_turn_id
from chat_service.core.turn_publisher import RunningTurns, TurnPublisher
from chat_service.edge.handlers import twirp_error_for
from chat_service.edge.streams.live import LiveTurn
from chat_service.edge.turn_messages import continue_command, start_command
from chat_service.edge.twirp import INTERNAL, TwirpError
from chat_service.ports.turn_events import TurnEventLog, TurnRecords
from gen.acai.chat import chat_pb2 as pb

logger = logging.getLogger(__name__)

Work = Callable[[TurnProgress], TurnCompleted]


class StreamTurns:
    """Runs each streamed turn on `executor`, apart from the request that started it: a
    client that goes away leaves the turn running to its end, stored as a unary turn is.

    Its events go to a LiveTurn (this worker's readers) and to the event log (every
    worker's); its terminal event also to the turn records. `capacity` is the LiveTurn's.
    """

    def __init__(
        self,
        chat: Chat,
        *,
        log: TurnEventLog,
        records: TurnRecords,
        running: RunningTurns,
        executor: Executor,
        capacity: int,
    ) -> None:
        self._chat = chat
        self._log = log
        self._records = records
        self._running = running
        self._executor = executor
        self._capacity = capacity
        self._live: dict[str, LiveTurn] = {}

    def live(self, turn_id: str) -> LiveTurn | None:
        """Returns the turn's copy in this worker while it runs here."""
        return self._live.get(turn_id)

    def begin(self, owner: str, key_id: str, method: str, request: ProtoMessage) -> LiveTurn:
        """Starts the turn of a StartConversation, ContinueConversation, RegenerateReply or
        EditLastMessage request of `owner`
        (through the API key `key_id`); returns its live copy (await `started()` before
        answering the request). Call on the event loop."""
        turn_id = new_turn_id()
        work = self._work(owner, key_id, turn_id, method, request)
        live = LiveTurn(turn_id, owner, asyncio.get_running_loop(), capacity=self._capacity)
        publisher = TurnPublisher(
            turn_id, owner, log=self._log, records=self._records, deliver=live.push
        )
        self._live[turn_id] = live
        self._running.add(publisher)
        # The turn's thread gets the request's context: its trace, logs and attribution.
        context = contextvars.copy_context()
        self._executor.submit(context.run, self._run, publisher, live, work)
        return live

    def _work(
        self, owner: str, key_id: str, turn_id: str, method: str, request: ProtoMessage
    ) -> Work:
        chat = self._chat
        if method == "StartConversation":
            assert isinstance(request, pb.StartConversationRequest)
            start = start_command(owner, key_id, request, turn_id)

            def run_start(progress: TurnProgress) -> TurnCompleted:
                started = chat.start(start, progress=progress)
                return TurnCompleted(
                    "start",
                    started.conversation_id,
                    started.reply,
                    started.title,
                    True,
                    started.usage.calls,
                )

            return run_start
        if method in ("RegenerateReply", "EditLastMessage"):
            return self._revision(owner, key_id, turn_id, request)
        assert isinstance(request, pb.ContinueConversationRequest)
        command = continue_command(owner, key_id, request, turn_id)

        def run_continue(progress: TurnProgress) -> TurnCompleted:
            continued = chat.continue_turn(command, progress=progress)
            return TurnCompleted(
                "continue",
                continued.conversation_id,
                continued.reply,
                continued.title,
                continued.new_conversation,
                continued.usage.calls,
            )

        return run_continue

    def _revision(self, owner: str, key_id: str, turn_id: str, request: ProtoMessage) -> Work:
        """The work of a RegenerateReply or EditLastMessage request."""
        chat = self._chat
        if isinstance(request, pb.RegenerateReplyRequest):
            regenerate = request

            def run_regenerate(progress: TurnProgress) -> TurnCompleted:
                revised = chat.regenerate(
                    owner=owner,
                    conversation_id=regenerate.conversation_id,
                    idempotency_key=regenerate.idempotency_key,
                    key_id=key_id,
                    turn_id=turn_id,
                    progress=progress,
                )
                return TurnCompleted(
                    "regenerate",
                    revised.conversation_id,
                    revised.reply,
                    calls=revised.usage.calls,
                )

            return run_regenerate
        assert isinstance(request, pb.EditLastMessageRequest)
        edit = request

        def run_edit(progress: TurnProgress) -> TurnCompleted:
            revised = chat.edit_last(
                owner=owner,
                conversation_id=edit.conversation_id,
                message=edit.message,
                idempotency_key=edit.idempotency_key,
                key_id=key_id,
                turn_id=turn_id,
                progress=progress,
            )
            return TurnCompleted(
                "edit", revised.conversation_id, revised.reply, calls=revised.usage.calls
            )

        return run_edit

    def _run(self, publisher: TurnPublisher, live: LiveTurn, work: Work) -> None:
        try:
            publisher.completed(work(publisher))
        except TurnCancelled as stop:
            publisher.cancelled(stop.conversation_id, stop.partial_text)
        except Exception as exc:
            error = _twirp_error(exc)
            if publisher.started_event is None:
                live.refuse(error)
            else:
                publisher.failed(error.code, error.msg, error.meta)
        finally:
            self._running.remove(publisher.turn_id)
            self._live.pop(publisher.turn_id, None)


def _twirp_error(exc: Exception) -> TwirpError:
    if isinstance(exc, TwirpError):
        return exc
    translated = twirp_error_for(exc)
    if translated is None:
        logger.exception("unhandled error in a streamed turn")
        return INTERNAL
    return translated
