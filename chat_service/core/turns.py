"""TurnRunner: one turn from the user's message to its stored turn group, one at a time per
conversation."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime

from chat_service.core import prompts
from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.errors import BudgetExceeded, TurnCancelled
from chat_service.core.models import NewMessage, Role, SessionInfo, StartedConversation
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
    ) -> None:
        self._repository = repository
        self._answers = answers
        self._clock = clock
        self._executor = executor
        self._history_messages = history_messages
        self._turn_lock = turn_lock

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
    ) -> StartedConversation:
        """Stores a new conversation with the message and its reply; the title is made
        alongside the reply, or after it when the turn is `budgeted` (a reply refused for
        its budget then makes no title call either). Nothing is stored when the reply fails
        (raises as Assistant.reply). With a `claim`, its idempotency record is completed in
        the same transaction."""
        platform = session.platform
        generation = self._answers.generation(owner)
        conversation_id = ""
        if progress is not None:
            conversation_id = self._repository.new_conversation_id()
            progress.started(conversation_id, new_conversation=True, title="")
        if budgeted:
            reply = self._reply_or_stop(
                owner, message, session, generation, progress, conversation_id, None
            )
            title = self._title(owner, message, platform, generation, progress)
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
            )
            reply = self._reply_or_stop(
                owner, message, session, generation, progress, conversation_id, title_future
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
    ) -> Reply:
        """Returns a new conversation's reply; when the turn is stopped, stores what was sent
        (with the title) and raises TurnCancelled."""
        try:
            return self._answers.reply(
                owner,
                [],
                message,
                platform=session.platform,
                generation=generation,
                progress=progress,
            )
        except CancelledReply as stop:
            if title_future is not None:
                title = title_future.result()
            else:
                title = self._title(owner, message, session.platform, generation, None)
            if not stop.messages:
                raise TurnCancelled() from None
            self._repository.create(
                owner=owner,
                title=title.text,
                session=session,
                messages=[NewMessage(Role.USER, message), *stop.messages],
                now=self._clock(),
                conversation_id=conversation_id,
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
            header = self._repository.get(owner=owner, conversation_id=conversation_id)
            if progress is not None:
                progress.started(conversation_id, new_conversation=False, title=header.title)
            stored = header.session
            bind_attribution(owner=owner, platform=stored.platform, user_id=stored.user_id)
            summary = self._repository.latest_summary(conversation_id=conversation_id)
            earlier = self._repository.recent_messages(
                owner=owner,
                conversation_id=conversation_id,
                limit=self._history_messages,
                first_seq=summary.end_seq if summary else 0,
            )
            try:
                reply = self._answers.reply(
                    owner,
                    earlier,
                    message,
                    summary=summary,
                    platform=header.session.platform,
                    generation=generation,
                    progress=progress,
                )
            except CancelledReply as stop:
                if stop.messages:
                    check()
                    self._repository.append(
                        owner=owner,
                        conversation_id=conversation_id,
                        messages=[NewMessage(Role.USER, message), *stop.messages],
                        now=self._clock(),
                        expected_count=header.message_count if self._turn_lock else None,
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
                expected_count=header.message_count if self._turn_lock else None,
                receipt=None if claim is None else Receipt(claim, reply.content, usage=usage),
            )
        return AppendedTurn(reply.content, usage)

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
    ) -> Title:
        try:
            title = self._answers.title(owner, message, platform=platform, generation=generation)
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
