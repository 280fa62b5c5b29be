"""TurnRunner: one turn from the user's message to its stored turn group, one at a time per
conversation."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime

from chat_service.core import prompts
from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.errors import BudgetExceeded
from chat_service.core.models import NewMessage, Role, SessionInfo, StartedConversation
from chat_service.core.replies import Title
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
    ) -> StartedConversation:
        """Stores a new conversation with the message and its reply; the title is made
        alongside the reply, or after it when the turn is `budgeted` (a reply refused for
        its budget then makes no title call either). Nothing is stored when the reply fails
        (raises as Assistant.reply). With a `claim`, its idempotency record is completed in
        the same transaction."""
        platform = session.platform
        generation = self._answers.generation(owner)
        if budgeted:
            reply = self._answers.reply(
                owner, [], message, platform=platform, generation=generation
            )
            title = self._title(owner, message, platform, generation)
        else:
            # The title runs on another thread: give it this request's context (trace,
            # attribution).
            title_future = self._executor.submit(
                contextvars.copy_context().run, self._title, owner, message, platform, generation
            )
            reply = self._answers.reply(
                owner, [], message, platform=platform, generation=generation
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
        )
        return StartedConversation(conversation.id, conversation.title, reply.content, usage)

    def append(
        self, owner: str, conversation_id: str, message: str, *, claim: Claim | None = None
    ) -> AppendedTurn:
        """Adds the message and its turn group to the conversation; returns the reply and
        its usage. A `claim` is completed as in `create`.

        Raises ConversationNotFound, TurnBusy/TurnConflict (aborted), and as Assistant.reply.
        """
        with self.exclusive(f"conversation:{conversation_id}") as check:
            # Before the conversation is read: see CachedAnswers.generation.
            generation = self._answers.generation(owner)
            header = self._repository.get(owner=owner, conversation_id=conversation_id)
            stored = header.session
            bind_attribution(owner=owner, platform=stored.platform, user_id=stored.user_id)
            summary = self._repository.latest_summary(conversation_id=conversation_id)
            earlier = self._repository.recent_messages(
                conversation_id=conversation_id,
                limit=self._history_messages,
                first_seq=summary.end_seq if summary else 0,
            )
            reply = self._answers.reply(
                owner,
                earlier,
                message,
                summary=summary,
                platform=header.session.platform,
                generation=generation,
            )
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

    def _title(self, owner: str, message: str, platform: str, generation: int | None) -> Title:
        try:
            return self._answers.title(owner, message, platform=platform, generation=generation)
        except BudgetExceeded:
            logger.info("no title call: the budget is spent; using the message's first words")
            return Title(prompts.clean_title(message))
        except Exception:
            # A title is a nicety: the turn goes on with one made from the message itself.
            logger.warning(
                "title generation failed; using the message's first words", exc_info=True
            )
            return Title(prompts.clean_title(message))


def _with_title_call(messages: list[NewMessage], call: ModelCall | None) -> list[NewMessage]:
    """Returns `messages` with the title's call added to the answer (the last message)."""
    if call is None or not messages:
        return messages
    answer = messages[-1]
    return [*messages[:-1], replace(answer, calls=(*answer.calls, call))]
