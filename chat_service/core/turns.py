"""TurnRunner: one turn from the user's message to its stored turn group, one at a time per
conversation."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime

from chat_service.core import prompts
from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.errors import BudgetExceeded, InvalidRequest, TurnCancelled
from chat_service.core.instructions import StandingInstructions
from chat_service.core.models import (
    Message,
    NewMessage,
    Role,
    SessionInfo,
    StartedConversation,
    Summary,
)
from chat_service.core.replies import CancelledReply, Reply, Title
from chat_service.core.turn_events import TurnProgress
from chat_service.core.turn_lock import TurnLock
from chat_service.core.usage import ModelCall, UsageTotals
from chat_service.observability.attribution import bind_attribution
from chat_service.ports.idempotency import Claim, Receipt
from chat_service.ports.repository import ConversationRepository

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AppendedTurn:
    """What `TurnRunner.append` returns: the reply and the totals of the turn's model calls."""

    reply: str
    usage: UsageTotals


class TurnRunner:
    """Makes replies (and titles) and stores each turn group, all or nothing: the user's
    message, the assistant's tool calls and their results, the answer, and a summary of
    older turns when one was made, with the idempotency receipt when there is one.

    With a TurnLock, turns on one conversation run one at a time across workers, and each
    commits only if the conversation is still at the version it read (see turn_lock).

    A streamed turn reports to its TurnProgress (started once past every refusal, the title,
    the reply's text and tool calls). When it is stopped, what the user saw is stored as the
    turn group (the reply with finish_reason cancelled; nothing if no text was sent) and
    TurnCancelled is raised with the conversation's id ("" when none was stored).
    """

    def __init__(
        self,
        repository: ConversationRepository,
        answers: CachedAnswers,
        *,
        clock: Callable[[], datetime],
        executor: Executor,
        history_messages: int,
        turn_lock: TurnLock | None = None,
        instructions: StandingInstructions | None = None,
    ) -> None:
        self._repository = repository
        self._answers = answers
        self._clock = clock
        self._executor = executor
        self._history_messages = history_messages
        self._turn_lock = turn_lock
        self._instructions = instructions or StandingInstructions()

    def create(
        self,
        owner: str,
        message: str,
        session: SessionInfo,
        *,
        claim: Claim | None = None,
        new_conversation: bool = False,
        budgeted: bool = False,
        progress: TurnProgress | None = None,
        model: str = "",
        instructions: str = "",
    ) -> StartedConversation:
        """Stores a new conversation on `model` with its `instructions`, the message and its
        reply; the title is made alongside the reply, or after it when the turn is `budgeted`
        (a reply refused for its budget then makes no title call either). Nothing is stored
        when the reply fails
        (raises as Assistant.reply). With a `claim`, its idempotency record is completed in
        the same transaction."""
        platform = session.platform
        generation = self._answers.generation(owner)
        standing = self._instructions.for_turn(owner, instructions)
        conversation_id = ""
        if progress is not None:
            conversation_id = self._repository.new_conversation_id()
            progress.started(conversation_id, new_conversation=True, title="")
        if budgeted:
            reply = self._reply_or_stop(
                owner,
                message,
                session,
                generation,
                progress,
                conversation_id,
                None,
                model=model,
                instructions=standing,
                own_instructions=instructions,
            )
            title = self._title(owner, message, platform, generation, progress, model)
        else:
            # The title runs on another thread: give it this request's context (trace,
            # attribution).
            title_future = self._executor.submit(
                contextvars.copy_context().run,
                self._title,
                owner,
                message,
                platform,
                generation,
                progress,
                model,
            )
            reply = self._reply_or_stop(
                owner,
                message,
                session,
                generation,
                progress,
                conversation_id,
                title_future,
                model=model,
                instructions=standing,
                own_instructions=instructions,
            )
            title = title_future.result()
        messages = _with_title_call(list(reply.messages), title.call)
        usage = UsageTotals.of(call for m in messages for call in m.calls)
        receipt = None
        if claim is not None:
            receipt = Receipt(claim, reply.content, title.text, new_conversation, usage)
        conversation = self._repository.create(
            owner=owner,
            title=title.text,
            session=session,
            messages=[NewMessage(Role.USER, message), *messages],
            now=self._clock(),
            receipt=receipt,
            conversation_id=conversation_id,
            model=model,
            instructions=instructions,
        )
        return StartedConversation(conversation.id, conversation.title, reply.content, usage)

    def _reply_or_stop(
        self,
        owner: str,
        message: str,
        session: SessionInfo,
        generation: int | None,
        progress: TurnProgress | None,
        conversation_id: str,
        title_future: Future[Title] | None,
        *,
        model: str = "",
        instructions: str = "",
        own_instructions: str = "",
    ) -> Reply:
        """Returns a new conversation's reply on `model` with `instructions` (those in
        force); when the turn is stopped, stores what was sent (with the title, the model
        and the conversation's `own_instructions`) and raises TurnCancelled."""
        try:
            return self._answers.reply(
                owner,
                [],
                message,
                platform=session.platform,
                generation=generation,
                progress=progress,
                model=model,
                instructions=instructions,
            )
        except CancelledReply as stop:
            if title_future is not None:
                title = title_future.result()
            else:
                title = self._title(owner, message, session.platform, generation, None, model)
            if not stop.messages:
                raise TurnCancelled() from None
            self._repository.create(
                owner=owner,
                title=title.text,
                session=session,
                messages=[NewMessage(Role.USER, message), *stop.messages],
                now=self._clock(),
                conversation_id=conversation_id,
                model=model,
                instructions=own_instructions,
            )
            raise TurnCancelled(
                conversation_id=conversation_id, partial_text=stop.partial_text
            ) from None

    def append(
        self,
        owner: str,
        conversation_id: str,
        message: str,
        *,
        claim: Claim | None = None,
        progress: TurnProgress | None = None,
    ) -> AppendedTurn:
        """Adds the message and its turn group to the conversation; returns the reply and
        its usage. A `claim` is completed as in `create`.

        Raises ConversationNotFound, TurnBusy/TurnConflict (aborted), and as Assistant.reply.
        """
        with self.exclusive(f"conversation:{conversation_id}") as check:
            # Before the conversation is read: see CachedAnswers.generation.
            generation = self._answers.generation(owner)
            read = self._repository.turn_context(
                owner=owner,
                conversation_id=conversation_id,
                history_messages=self._history_messages,
            )
            header = read.header
            if progress is not None:
                progress.started(conversation_id, new_conversation=False, title=header.title)
            stored = header.session
            bind_attribution(owner=owner, platform=stored.platform, user_id=stored.user_id)
            try:
                reply = self._answers.reply(
                    owner,
                    [m for m in read.messages if not m.inactive],  # the active path only
                    message,
                    summary=read.summary,
                    platform=header.session.platform,
                    generation=generation,
                    progress=progress,
                    model=header.model,
                    instructions=self._instructions.for_turn(owner, header.instructions),
                )
            except CancelledReply as stop:
                if stop.messages:
                    check()
                    self._repository.append(
                        owner=owner,
                        conversation_id=conversation_id,
                        messages=[NewMessage(Role.USER, message), *stop.messages],
                        now=self._clock(),
                        read=header if self._turn_lock else None,
                    )
                raise TurnCancelled(
                    conversation_id=conversation_id, partial_text=stop.partial_text
                ) from None
            check()
            usage = UsageTotals.of(reply.calls)
            self._repository.append(
                owner=owner,
                conversation_id=conversation_id,
                messages=[NewMessage(Role.USER, message), *reply.messages],
                now=self._clock(),
                summary=reply.summary,
                read=header if self._turn_lock else None,
                receipt=None if claim is None else Receipt(claim, reply.content, usage=usage),
            )
        return AppendedTurn(reply.content, usage)

    def revise(
        self,
        owner: str,
        conversation_id: str,
        *,
        message: str | None = None,
        claim: Claim | None = None,
        progress: TurnProgress | None = None,
    ) -> AppendedTurn:
        """Answers the conversation's last user message again (`message` None: a regenerate,
        never answered from the cache), or replaces it with `message` and answers that (an
        edit); returns the reply and its usage. The replaced reply (for an edit, the user message and its
        reply) stays stored, inactive, as an alternative; the new version is appended after
        it, in the same write that deactivates the old one. `progress` as in `append`: a
        stopped revision stores what was sent the same way, replacing the old version.

        Raises ConversationNotFound, TurnBusy/TurnConflict (aborted), and as Assistant.reply.
        """
        with self.exclusive(f"conversation:{conversation_id}") as check:
            generation = self._answers.generation(owner)
            header = self._repository.get(owner=owner, conversation_id=conversation_id)
            stored = header.session
            bind_attribution(owner=owner, platform=stored.platform, user_id=stored.user_id)
            tail = self._repository.last_turn(owner=owner, conversation_id=conversation_id)
            if not tail:
                raise InvalidRequest("conversation_id", "the conversation has no user message")
            asked, version = tail[0], max(m.version for m in tail) + 1
            summary = self._repository.latest_summary(conversation_id=conversation_id)
            if summary is not None and summary.end_seq > asked.seq:
                summary = None  # (never written so) a summary must not cover what is re-asked
            if message is None:
                answer = [m for m in tail[1:] if not m.inactive]
                if not answer:  # a turn is stored whole, so only a damaged one lacks its reply
                    raise InvalidRequest("conversation_id", "the last message has no reply")
                replaced, asked_anew = answer[0], []
            else:
                replaced, asked_anew = asked, [NewMessage(Role.USER, message)]

            def version_of(messages: Sequence[NewMessage]) -> list[NewMessage]:
                return [
                    replace(m, version=version, alternative_of=replaced.id)
                    for m in [*asked_anew, *messages]
                ]

            if progress is not None:
                progress.started(conversation_id, new_conversation=False, title=header.title)
            try:
                reply = self._answers.reply(
                    owner,
                    self._history(owner, conversation_id, summary, before_seq=asked.seq),
                    asked.content if message is None else message,
                    summary=summary,
                    platform=stored.platform,
                    generation=generation,
                    progress=progress,
                    model=header.model,
                    instructions=self._instructions.for_turn(owner, header.instructions),
                    fresh=message is None,
                )
            except CancelledReply as stop:
                if stop.messages:
                    check()
                    self._repository.append(
                        owner=owner,
                        conversation_id=conversation_id,
                        messages=version_of(stop.messages),
                        now=self._clock(),
                        expected_count=header.message_count if self._turn_lock else None,
                        deactivate=(replaced.seq, header.message_count),
                    )
                raise TurnCancelled(
                    conversation_id=conversation_id, partial_text=stop.partial_text
                ) from None
            added = version_of(reply.messages)
            check()
            usage = UsageTotals.of(reply.calls)
            self._repository.append(
                owner=owner,
                conversation_id=conversation_id,
                messages=added,
                now=self._clock(),
                summary=reply.summary,
                expected_count=header.message_count if self._turn_lock else None,
                receipt=None if claim is None else Receipt(claim, reply.content, usage=usage),
                deactivate=(replaced.seq, header.message_count),
            )
        return AppendedTurn(reply.content, usage)

    def _history(
        self, owner: str, conversation_id: str, summary: Summary | None, *, before_seq: int | None
    ) -> list[Message]:
        """Returns the active messages the model sees before the new one: at most the last
        HISTORY_MESSAGES stored after the summary (and before `before_seq`), without the
        alternatives that regenerates and edits replaced."""
        earlier = self._repository.recent_messages(
            owner=owner,
            conversation_id=conversation_id,
            limit=self._history_messages,
            first_seq=summary.end_seq if summary else 0,
            before_seq=before_seq,
        )
        return [m for m in earlier if not m.inactive]

    @contextmanager
    def exclusive(self, key: str) -> Iterator[Callable[[], None]]:
        """Holds the turn lock of `key` (a no-op without a TurnLock); yields a check to call
        before committing, which raises TurnConflict if the lease was lost."""
        if self._turn_lock is None:
            with nullcontext():
                yield lambda: None
            return
        with self._turn_lock.hold(key) as lease:
            yield lease.check

    def _title(
        self,
        owner: str,
        message: str,
        platform: str,
        generation: int | None,
        progress: TurnProgress | None,
        model: str = "",
    ) -> Title:
        try:
            title = self._answers.title(
                owner, message, platform=platform, generation=generation, model=model
            )
        except BudgetExceeded:
            logger.info("no title call: the budget is spent; using the message's first words")
            title = Title(prompts.clean_title(message))
        except Exception:
            # A title is a nicety: the turn goes on with one made from the message itself.
            logger.warning(
                "title generation failed; using the message's first words", exc_info=True
            )
            title = Title(prompts.clean_title(message))
        if progress is not None:
            progress.title(title.text)
        return title


def _with_title_call(messages: list[NewMessage], call: ModelCall | None) -> list[NewMessage]:
    """Returns `messages` with the title's call added to the answer (the last message)."""
    if call is None or not messages:
        return messages
    answer = messages[-1]
    return [*messages[:-1], replace(answer, calls=(*answer.calls, call))]
