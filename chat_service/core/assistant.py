"""The assistant: runs the tool-calling loop that turns a conversation into its next reply."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from chat_service.core import prompts
from chat_service.core.answer_basis import answer_basis
from chat_service.core.cache.keys import Json
from chat_service.core.context_window import ContextWindow, TurnGroup, turn_groups
from chat_service.core.errors import (
    ModelUnavailable,
    RepeatedToolCall,
    ToolRoundsExhausted,
    TurnCancelled,
)
from chat_service.core.model_catalog import ModelCatalog
from chat_service.core.models import Message, NewMessage, Role, Summary, ToolCall
from chat_service.core.prompt_book import PromptBook
from chat_service.core.replies import PreparedReply, PreparedTitle, Reply, Title
from chat_service.core.reply_progress import cancelled_reply, run_tools
from chat_service.core.turn_events import TurnProgress
from chat_service.core.usage import ModelCall
from chat_service.observability.attribution import llm_operation
from chat_service.ports.chat_model import (
    ChatMessage,
    ChatModel,
    Completion,
    PromptRole,
    ToolSpec,
    Usage,
)
from tools.runner import ToolRunner

logger = logging.getLogger(__name__)

SUMMARY_MAX_TOKENS = 400


class Assistant:
    """Answers with a ChatModel and tools, within a token budget.

    Each round the model either answers or calls tools; the calls of one step run in
    parallel and their results go back in the model's order. After `max_tool_rounds`
    rounds of calls the turn ends with ToolRoundsExhausted; a call identical to one
    already made in the turn ends it with RepeatedToolCall.

    `models` is the allow-list a conversation chooses from (default: `model` alone); each
    prepare names the model of its conversation ("" for the default).
    """

    def __init__(
        self,
        model: ChatModel,
        tools: ToolRunner,
        *,
        window: ContextWindow,
        models: ModelCatalog | None = None,
        prompt_book: PromptBook | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_tool_rounds: int = 5,
        reply_max_tokens: int = 1024,
        title_max_tokens: int = 30,
    ) -> None:
        self._models = models or ModelCatalog.single(model)
        self._tools = tools
        self._window = window
        self._prompt_book = prompt_book or PromptBook()
        self._clock = clock
        self._max_tool_rounds = max_tool_rounds
        self._reply_max_tokens = reply_max_tokens
        self._title_max_tokens = title_max_tokens

    def prepare(
        self,
        history: Sequence[Message],
        message: str,
        *,
        summary: Summary | None = None,
        platform: str = "",
        model: str = "",
        instructions: str = "",
    ) -> PreparedReply:
        """Builds the prompt of the reply to `message` once: what `answer` sends and what
        `basis` (the cache key's data) describes are the same messages. `model` is an id
        of the allow-list ("" or one no longer allowed: the default); `instructions` are
        the conversation's standing instructions, added after the system prompt."""
        specs = self._tools.specs()
        chat_model = self._models.chat_model(model)
        system_text = prompts.with_instructions(self._system_prompt(platform, specs), instructions)
        system = ChatMessage(PromptRole.SYSTEM, system_text)
        turn = ChatMessage(PromptRole.USER, message)
        groups = tuple(turn_groups(history))
        sampling: dict[str, Json] = {
            "max_tokens": self._reply_max_tokens,
            "max_tool_rounds": self._max_tool_rounds,
            "context_budget": self._window.budget,
        }
        prompt = [*self._pinned(system, summary), *(m for g in groups for m in g.prompt()), turn]
        basis = answer_basis(chat_model.name, prompt, sampling=sampling, tools=specs)
        return PreparedReply(system, turn, groups, summary, specs, basis, chat_model)

    def reply(
        self,
        history: Sequence[Message],
        message: str,
        *,
        summary: Summary | None = None,
        platform: str = "",
        owner: str = "",
        model: str = "",
        instructions: str = "",
    ) -> Reply:
        """Returns the reply to `message`, given the stored `history` (oldest first) and the
        summary of what came before it: `answer(prepare(...))`."""
        prepared = self.prepare(
            history,
            message,
            summary=summary,
            platform=platform,
            model=model,
            instructions=instructions,
        )
        return self.answer(prepared, owner=owner)

    def answer(
        self, prepared: PreparedReply, *, owner: str = "", progress: TurnProgress | None = None
    ) -> Reply:
        """Runs the tool loop on a prepared prompt. `owner` scopes reused tool results.

        With `progress`, the reply rounds stream their text and report each tool call to it
        (the summary does not), and a stop it asks for ends the turn with CancelledReply.
        Raises ModelUnavailable, ModelRejected (ContextOverflow included), ToolLoopAborted.
        """
        specs = prepared.tools
        summary = prepared.summary
        turn = [prepared.message]
        fit = self._window.fit(
            pinned=self._pinned(prepared.system, summary),
            groups=prepared.groups,
            current=turn,
            tools=specs,
        )
        chat_model = prepared.model
        new_summary, summary_call = (
            self._summarize(chat_model, summary, fit.dropped) if fit.dropped else (None, None)
        )
        pinned = self._pinned(prepared.system, new_summary or summary)
        kept: Sequence[TurnGroup] = fit.kept
        added: list[NewMessage] = []
        seen: set[tuple[str, str]] = set()
        tools_used: dict[str, None] = {}
        tools_failed = False
        usage = Usage()
        streamed: list[str] = []
        on_text = None
        if progress is not None:

            def on_text(delta: str) -> None:
                streamed.append(delta)  # before it is sent: a stop there still counts it
                progress.text(delta)

        for round_number in range(self._max_tool_rounds + 1):
            kept = self._window.fit(pinned=pinned, groups=kept, current=turn, tools=specs).kept
            prompt = [*pinned, *(m for g in kept for m in g.prompt()), *turn]
            streamed.clear()
            try:
                if progress is not None:
                    progress.checkpoint()
                with llm_operation("reply"):
                    step = chat_model.complete(
                        prompt, tools=specs, max_tokens=self._reply_max_tokens, on_text=on_text
                    )
            except TurnCancelled:
                raise cancelled_reply(added, "".join(streamed)) from None
            usage += step.usage
            call = ModelCall.of(step, "reply")
            if not step.tool_calls:
                calls = (call,) if summary_call is None else (summary_call, call)
                reply = self._final(step, added, usage, new_summary, calls)
                return replace(reply, tools_used=tuple(tools_used), tools_failed=tools_failed)
            if round_number == self._max_tool_rounds:
                raise ToolRoundsExhausted(self._max_tool_rounds)
            _check_repeats(step.tool_calls, seen)
            results = run_tools(self._tools, step.tool_calls, owner=owner, progress=progress)
            tools_used.update((call.name, None) for call in step.tool_calls)
            tools_failed = tools_failed or not all(result.ok for result in results)
            turn.append(ChatMessage(PromptRole.ASSISTANT, step.content, step.tool_calls))
            added.append(
                NewMessage(
                    Role.ASSISTANT,
                    step.content,
                    tool_calls=step.tool_calls,
                    calls=(call,),
                )
            )
            for result in results:
                turn.append(
                    ChatMessage(PromptRole.TOOL, result.content, tool_call_id=result.call.id)
                )
                added.append(
                    NewMessage(
                        Role.TOOL,
                        result.content,
                        tool_call_id=result.call.id,
                        tool_name=result.call.name,
                    )
                )
        raise AssertionError("unreachable: the last round returns or raises")

    @property
    def models(self) -> ModelCatalog:
        """Returns the allow-list conversations choose from."""
        return self._models

    def prepare_title(
        self, first_message: str, *, platform: str = "", model: str = ""
    ) -> PreparedTitle:
        """Builds the title prompt once, with the basis that describes it; `model` as in
        `prepare`."""
        chat_model = self._models.chat_model(model)
        prompt = prompts.title_prompt(first_message, self._prompt_book.title(platform))
        sampling: dict[str, Json] = {"max_tokens": self._title_max_tokens}
        basis = answer_basis(chat_model.name, prompt, sampling=sampling)
        return PreparedTitle(tuple(prompt), basis, chat_model)

    def title(self, first_message: str, *, platform: str = "", model: str = "") -> str:
        """Returns a short title for a conversation that starts with `first_message`."""
        prepared = self.prepare_title(first_message, platform=platform, model=model)
        return self.answer_title(prepared).text

    def answer_title(self, prepared: PreparedTitle) -> Title:
        """Asks the model for the title a prepared prompt describes."""
        with llm_operation("title"):
            completion = prepared.model.complete(prepared.prompt, max_tokens=self._title_max_tokens)
        return Title(prompts.clean_title(completion.content), ModelCall.of(completion, "title"))

    def _system_prompt(self, platform: str, specs: Sequence[ToolSpec]) -> str:
        template = self._prompt_book.system(platform)
        return prompts.render_system_prompt(template, now=self._clock(), tools=specs)

    @staticmethod
    def _pinned(system: ChatMessage, summary: Summary | None) -> list[ChatMessage]:
        return [system] if summary is None else [system, prompts.summary_message(summary.content)]

    def _summarize(
        self, model: ChatModel, previous: Summary | None, dropped: Sequence[TurnGroup]
    ) -> tuple[Summary | None, ModelCall | None]:
        """Returns a summary of `previous` and the `dropped` groups, or None if the model fails
        (the turn goes on without; the groups will be offered for summary again next turn),
        with the model call made for it (None when none succeeded)."""
        prompt = self._summary_prompt(previous, [m for g in dropped for m in g.prompt()])
        if prompt is None:
            return None, None
        try:
            max_tokens = min(SUMMARY_MAX_TOKENS, self._reply_max_tokens)
            with llm_operation("summary"):
                completion = model.complete(prompt, max_tokens=max_tokens)
        except ModelUnavailable:
            logger.warning("summarizing older turns failed; they are left out unsummarized")
            return None, None
        call = ModelCall.of(completion, "summary")
        if not completion.content.strip():
            return None, call
        first_seq = previous.first_seq if previous else dropped[0].first_seq
        summary = Summary(
            completion.content.strip(), first_seq=first_seq, end_seq=dropped[-1].end_seq
        )
        return summary, call

    def _summary_prompt(
        self, previous: Summary | None, transcript: list[ChatMessage]
    ) -> tuple[ChatMessage, ...] | None:
        """Returns the summary prompt for the newest part of `transcript` that fits the
        budget (the oldest messages give way first; the previous summary covers them in
        part), or None if not even the previous summary fits."""

        def prompt(start: int) -> tuple[ChatMessage, ...]:
            return prompts.summary_prompt(
                previous.content if previous else None, transcript[start:]
            )

        def fits(start: int) -> bool:
            return self._window.prompt_tokens(prompt(start), ()) <= self._window.budget

        if not fits(len(transcript)):
            return None
        low, high = 0, len(transcript)  # fits(high) holds; find the smallest start that fits
        while low < high:
            middle = (low + high) // 2
            if fits(middle):
                high = middle
            else:
                low = middle + 1
        return prompt(low)

    @staticmethod
    def _final(
        step: Completion,
        added: list[NewMessage],
        usage: Usage,
        summary: Summary | None,
        calls: tuple[ModelCall, ...],
    ) -> Reply:
        if not step.content.strip():
            raise ModelUnavailable("the language model returned an empty reply")
        model = step.answered_by or step.model
        added.append(NewMessage(Role.ASSISTANT, step.content, calls=calls, model=model))
        return Reply(step.content, tuple(added), usage, summary, model=model)


def _check_repeats(calls: Sequence[ToolCall], seen: set[tuple[str, str]]) -> None:
    """Raises RepeatedToolCall if a call repeats one made earlier in the turn (or this step)."""
    for call in calls:
        key = (call.name, _canonical(call.arguments))
        if key in seen:
            raise RepeatedToolCall(call.name)
        seen.add(key)


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments or "{}"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return arguments
