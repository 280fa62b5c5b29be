"""The chat use cases: start, continue, regenerate, edit, list, describe and delete
conversations (their settings: `conversation_settings`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime

from chat_service.core.budgets import BudgetGate
from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.cache.keys import Json
from chat_service.core.conversation_settings import ConversationSettings, checked_conversation_id
from chat_service.core.errors import ConversationNotFound, InvalidRequest, TurnCancelled
from chat_service.core.idempotency import Idempotency
from chat_service.core.instructions import StandingInstructions
from chat_service.core.models import (
    ContinuedConversation,
    ContinueTurn,
    ConversationDetail,
    ConversationPage,
    SessionInfo,
    StartedConversation,
    StartTurn,
)
from chat_service.core.sessions import Sessions
from chat_service.core.turn_events import TurnProgress
from chat_service.core.turn_lock import TurnLock
from chat_service.core.turns import TurnRunner
from chat_service.core.usage_report import UsageReport, usage_report
from chat_service.observability.attribution import bind_attribution, bind_turn
from chat_service.ports.idempotency import Claim, TurnOutcome
from chat_service.ports.repository import ConversationRepository
from chat_service.ports.sessions import SessionKey
from chat_service.ports.usage_ledger import UsageLedger

Clock = Callable[[], datetime]

LIST_PAGE_SIZE = (20, 100)
MESSAGE_PAGE_SIZE = (100, 1000)


class Chat:
    """Runs turns through the assistant and stores them; one instance serves all requests."""

    def __init__(
        self,
        repository: ConversationRepository,
        answers: CachedAnswers,
        *,
        clock: Clock,
        executor: Executor,
        max_message_chars: int = 16_000,
        history_messages: int = 40,
        sessions: Sessions | None = None,
        turn_lock: TurnLock | None = None,
        idempotency: Idempotency | None = None,
        usage: UsageLedger | None = None,
        budgets: BudgetGate | None = None,
        new_turn_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        instructions: StandingInstructions | None = None,
    ) -> None:
        """`answers` is the assistant, behind the response cache or not
        (`CachedAnswers.uncached`); without `sessions`, session_metadata is only stored, never resolved; without a
        `turn_lock`, concurrent turns on a conversation all run (and are all kept); without
        `idempotency`, idempotency keys are not honoured; without a `usage` ledger, usage
        reports are empty; without `budgets`, turns are not refused up front for a budget
        that is spent (the model's own wrapper still checks each call); without
        `instructions`, owners have no default instructions (and the limit is 4000
        characters)."""
        self._repository = repository
        self._instructions = instructions or StandingInstructions()
        self._answers = answers
        self._sessions = sessions
        self._idempotency = idempotency
        self._clock = clock
        self._max_message_chars = max_message_chars
        self._new_turn_id = new_turn_id
        self._usage = usage
        self._budgets = budgets
        self._turns = TurnRunner(
            repository,
            answers,
            clock=clock,
            executor=executor,
            history_messages=history_messages,
            turn_lock=turn_lock,
            instructions=self._instructions,
        )
        # The use cases of settings: a conversation's title, model and instructions, the
        # models to choose from, an owner's default instructions.
        self.settings = ConversationSettings(
            repository, models=answers.models, instructions=self._instructions, clock=clock
        )

    def start(
        self, command: StartTurn, *, progress: TurnProgress | None = None
    ) -> StartedConversation:
        """Creates a conversation from its first message; the title is made alongside the reply.

        With complete session_metadata the conversation becomes the session's, ending any
        earlier one. The whole turn group is stored at once (the user message, every tool
        call and result, the answer), and nothing unless the reply succeeds. A repeated
        idempotency_key returns the first result. Raises InvalidRequest, TurnAborted,
        ToolLoopAborted, ModelRejected, BudgetExceeded (nothing stored), Unavailable.

        With `progress` the turn streams (see TurnRunner; a repeated idempotency_key reports
        the first turn's start) and may end with TurnCancelled.
        """
        message = self._checked_message(command.message)
        model = self._answers.models.checked(command.model)
        instructions = self._instructions.checked(command.instructions)
        session = command.session
        bind_attribution(owner=command.owner, platform=session.platform, user_id=session.user_id)
        bind_turn(turn_id=command.turn_id or self._new_turn_id(), key_id=command.key_id)
        key = self._session_key(command.owner, command.session)

        def turn(claim: Claim | None) -> TurnOutcome:
            budgeted = self._admit(command.owner, command.key_id)
            if key is None or self._sessions is None:
                started = self._turns.create(
                    command.owner,
                    message,
                    command.session,
                    claim=claim,
                    budgeted=budgeted,
                    progress=progress,
                    model=model,
                    instructions=instructions,
                )
            else:
                with self._turns.exclusive(f"session:{key.id}"):
                    started = self._create_in_session(
                        key,
                        command.session,
                        message,
                        claim,
                        budgeted,
                        progress,
                        new_conversation=False,
                        model=model,
                        instructions=instructions,
                    )
            return TurnOutcome(
                started.conversation_id, started.reply, started.title, usage=started.usage
            )

        request: dict[str, Json] = {"message": message, "session": _session_json(session)}
        # Only when set, so requests recorded before these fields existed still match.
        if model:
            request["model"] = model
        if instructions:
            request["instructions"] = instructions
        outcome = self._idempotent(
            command.owner, "StartConversation", command, request, turn, progress, new=True
        )
        return StartedConversation(
            outcome.conversation_id, outcome.title, outcome.reply, outcome.usage
        )

    def continue_turn(
        self, command: ContinueTurn, *, progress: TurnProgress | None = None
    ) -> ContinuedConversation:
        """Adds the user message and the reply's turn group (with the summary of older
        turns if one was made) to the conversation, together.

        The conversation is `conversation_id`, or else the session's current one; a session
        with none active (new, idle past its TTL, ended) starts a conversation, with a title.
        A repeated idempotency_key returns the first result. Raises InvalidRequest,
        ConversationNotFound, TurnAborted, ToolLoopAborted, ModelRejected, BudgetExceeded,
        Unavailable; `progress` as in `start`.
        """
        message = self._checked_message(command.message)
        # Rebound from the stored conversation's session when the turn reads it (turns.py).
        session = command.session
        bind_attribution(owner=command.owner, platform=session.platform, user_id=session.user_id)
        bind_turn(turn_id=command.turn_id or self._new_turn_id(), key_id=command.key_id)
        conversation_id = ""
        key = None
        if command.conversation_id.strip():
            conversation_id = self._checked_id(command.conversation_id)
        else:
            key = self._session_key(command.owner, command.session)
            if key is None:
                raise InvalidRequest(
                    "conversation_id",
                    "conversation_id is required (or session_metadata with platform and chat_id)",
                )

        def turn(claim: Claim | None) -> TurnOutcome:
            budgeted = self._admit(command.owner, command.key_id)
            if key is not None:
                return self._continue_session(
                    key, command.session, message, claim, budgeted, progress
                )
            appended = self._turns.append(
                command.owner, conversation_id, message, claim=claim, progress=progress
            )
            return TurnOutcome(conversation_id, appended.reply, usage=appended.usage)

        request = {
            "conversation_id": conversation_id,
            "message": message,
            "session": _session_json(command.session),
        }
        outcome = self._idempotent(
            command.owner, "ContinueConversation", command, request, turn, progress, new=False
        )
        return ContinuedConversation(
            outcome.conversation_id,
            outcome.reply,
            outcome.new_conversation,
            outcome.title,
            outcome.usage,
        )

    def regenerate(
        self,
        *,
        owner: str,
        conversation_id: str,
        idempotency_key: str = "",
        key_id: str = "",
        turn_id: str = "",
        progress: TurnProgress | None = None,
    ) -> ContinuedConversation:
        """Answers the conversation's last user message again, never from the cache; the
        reply it replaces stays stored as an inactive alternative. A repeated
        idempotency_key returns the first result; usage and budgets count as for any turn
        (`key_id` and `turn_id` as in StartTurn). Raises InvalidRequest, ConversationNotFound,
        TurnAborted, ToolLoopAborted, ModelRejected, BudgetExceeded, Unavailable; `progress`
        as in `start`."""
        return self._revise(
            owner, conversation_id, None, idempotency_key, key_id, turn_id, progress
        )

    def edit_last(
        self,
        *,
        owner: str,
        conversation_id: str,
        message: str,
        idempotency_key: str = "",
        key_id: str = "",
        turn_id: str = "",
        progress: TurnProgress | None = None,
    ) -> ContinuedConversation:
        """Replaces the conversation's last user message with `message` and answers it; the
        earlier message and its reply stay stored as inactive alternatives. Only the last
        user message can be edited. Raises as `regenerate`."""
        return self._revise(
            owner, conversation_id, message, idempotency_key, key_id, turn_id, progress
        )

    def _revise(
        self,
        owner: str,
        conversation_id: str,
        message: str | None,
        idempotency_key: str,
        key_id: str,
        turn_id: str,
        progress: TurnProgress | None,
    ) -> ContinuedConversation:
        conversation_id = self._checked_id(conversation_id)
        if message is not None:
            message = self._checked_message(message)
        bind_attribution(owner=owner)
        bind_turn(turn_id=turn_id or self._new_turn_id(), key_id=key_id)

        def turn(claim: Claim | None) -> TurnOutcome:
            self._admit(owner, key_id)
            revised = self._turns.revise(
                owner, conversation_id, message=message, claim=claim, progress=progress
            )
            return TurnOutcome(conversation_id, revised.reply, usage=revised.usage)

        request: Json = {"conversation_id": conversation_id}
        method = "RegenerateReply"
        if message is not None:
            request, method = (
                {"conversation_id": conversation_id, "message": message},
                "EditLastMessage",
            )
        outcome = self._keyed(owner, method, idempotency_key, request, turn, progress)
        return ContinuedConversation(conversation_id, outcome.reply, usage=outcome.usage)

    def end_session(self, *, owner: str, session: SessionInfo) -> str:
        """Ends the client's session; returns the conversation it was on ("" if none was active).

        The next message of that session starts a new conversation. Raises InvalidRequest.
        """
        key = self._session_key(owner, session)
        if key is None or self._sessions is None:
            raise InvalidRequest(
                "session_metadata", "session_metadata needs platform and chat_id (and user_id)"
            )
        ended = self._sessions.end(key, now=self._clock())
        return "" if ended is None else ended.conversation_id

    def _continue_session(
        self,
        key: SessionKey,
        info: SessionInfo,
        message: str,
        claim: Claim | None,
        budgeted: bool,
        progress: TurnProgress | None,
    ) -> TurnOutcome:
        assert self._sessions is not None
        # One turn at a time per session: two first messages must not start two conversations.
        with self._turns.exclusive(f"session:{key.id}"):
            session = self._sessions.find(key, now=self._clock())
            if session is not None:
                try:
                    appended = self._turns.append(
                        key.owner, session.conversation_id, message, claim=claim, progress=progress
                    )
                except ConversationNotFound:
                    pass  # the conversation is gone: the session starts a new one below
                else:
                    self._sessions.touch(key, session, now=self._clock())
                    return TurnOutcome(
                        session.conversation_id, appended.reply, usage=appended.usage
                    )
            started = self._create_in_session(
                key, info, message, claim, budgeted, progress, new_conversation=True
            )
        return TurnOutcome(
            started.conversation_id, started.reply, started.title, True, started.usage
        )

    def _create_in_session(
        self,
        key: SessionKey,
        info: SessionInfo,
        message: str,
        claim: Claim | None,
        budgeted: bool,
        progress: TurnProgress | None,
        *,
        new_conversation: bool,
        model: str = "",
        instructions: str = "",
    ) -> StartedConversation:
        """Starts the session's conversation (the caller holds the session's lock) on
        `model` with `instructions`; a stopped turn that stored its partial reply starts it
        too."""
        assert self._sessions is not None
        try:
            started = self._turns.create(
                key.owner,
                message,
                info,
                claim=claim,
                new_conversation=new_conversation,
                budgeted=budgeted,
                progress=progress,
                model=model,
                instructions=instructions,
            )
        except TurnCancelled as stop:
            if stop.conversation_id:
                self._sessions.start(key, stop.conversation_id, now=self._clock())
            raise
        self._sessions.start(key, started.conversation_id, now=self._clock())
        return started

    def _idempotent(
        self,
        owner: str,
        method: str,
        command: StartTurn | ContinueTurn,
        request: Json,
        turn: Callable[[Claim | None], TurnOutcome],
        progress: TurnProgress | None,
        *,
        new: bool,
    ) -> TurnOutcome:
        return self._keyed(owner, method, command.idempotency_key, request, turn, progress, new=new)

    def _keyed(
        self,
        owner: str,
        method: str,
        key: str,
        request: Json,
        turn: Callable[[Claim | None], TurnOutcome],
        progress: TurnProgress | None = None,
        *,
        new: bool = False,
    ) -> TurnOutcome:
        if self._idempotency is None:
            return turn(None)
        ran: list[bool] = []

        def run(claim: Claim | None) -> TurnOutcome:
            ran.append(True)
            return turn(claim)

        outcome = self._idempotency.run(
            owner=owner, method=method, key=key, request=request, turn=run
        )
        if progress is not None and not ran:
            # A repeat: its stream is the first turn's outcome, started and then completed.
            progress.started(
                outcome.conversation_id,
                new_conversation=new or outcome.new_conversation,
                title=outcome.title,
            )
        return outcome

    def list_conversations(
        self, *, owner: str, page_size: int, page_token: str
    ) -> ConversationPage:
        """Returns one page of the owner's conversations, newest first. Raises InvalidRequest."""
        return self._repository.list_conversations(
            owner=owner, page_size=_page_size(page_size, *LIST_PAGE_SIZE), page_token=page_token
        )

    def describe(
        self, *, owner: str, conversation_id: str, page_size: int, page_token: str
    ) -> ConversationDetail:
        """Returns the conversation with one page of its messages, oldest first.

        Raises InvalidRequest, ConversationNotFound.
        """
        conversation_id = self._checked_id(conversation_id)
        size = _page_size(page_size, *MESSAGE_PAGE_SIZE)
        conversation = self._repository.get(owner=owner, conversation_id=conversation_id)
        messages = self._repository.list_messages(
            owner=owner, conversation_id=conversation_id, page_size=size, page_token=page_token
        )
        return ConversationDetail(conversation, messages)

    def delete(self, *, owner: str, conversation_id: str) -> bool:
        """Deletes the owner's conversation with everything stored for it and puts the
        owner's cached answers out of reach; returns False if it was deleted before.

        A turn running on it fails with ConversationNotFound and stores nothing; a session on
        it starts a new conversation with its next message. Raises InvalidRequest,
        ConversationNotFound, Unavailable (retrying completes the deletion).
        """
        conversation_id = self._checked_id(conversation_id)
        deleted = self._repository.delete(
            owner=owner, conversation_id=conversation_id, now=self._clock()
        )
        self._answers.forget_owner(owner)
        return deleted

    def usage(self, *, owner: str, start_date: str, end_date: str) -> UsageReport:
        """Returns the owner's usage from `start_date` to `end_date` (UTC days, inclusive;
        see usage_report.period). Raises InvalidRequest, Unavailable."""
        return usage_report(
            self._usage, owner=owner, start_date=start_date, end_date=end_date, now=self._clock()
        )

    def _admit(self, owner: str, key_id: str) -> bool:
        """Refuses the turn before any work when a budget of the owner or key is spent;
        returns whether a budget applies."""
        return self._budgets is not None and self._budgets.admit(owner, key_id)

    def _session_key(self, owner: str, session: SessionInfo) -> SessionKey | None:
        return None if self._sessions is None else self._sessions.key(owner, session)

    def _checked_message(self, message: str) -> str:
        if not message.strip():
            raise InvalidRequest("message", "message is required")
        if len(message) > self._max_message_chars:
            raise InvalidRequest(
                "message", f"message is longer than {self._max_message_chars} characters"
            )
        return message

    @staticmethod
    def _checked_id(conversation_id: str) -> str:
        return checked_conversation_id(conversation_id)


def _session_json(session: SessionInfo) -> Json:
    return [session.platform, session.user_id, session.chat_id]


def _page_size(requested: int, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidRequest("page_size", "page_size must not be negative")
    return min(requested or default, maximum)
