"""MeteredChatModel: every language-model call's tokens, cost and latency, recorded in the ledger."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from chat_service.core.budgets import BudgetGate, Hold, worst_case_usd
from chat_service.core.prices import PriceTable
from chat_service.core.token_counter import TiktokenCounter
from chat_service.core.usage import ModelCall, UsageRecord
from chat_service.observability.attribution import (
    current_attribution,
    current_operation,
    current_turn,
)
from chat_service.ports.chat_model import (
    ChatMessage,
    ChatModel,
    Completion,
    TextSink,
    ToolSpec,
    Usage,
)
from chat_service.ports.usage_ledger import UsageLedger

logger = logging.getLogger(__name__)


class Metering:
    """Prices calls and counts the tokens a provider did not report."""

    def __init__(self, *, prices: PriceTable, counter: TiktokenCounter) -> None:
        self.prices = prices
        self._counter = counter

    def prompt_tokens(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> int:
        """Returns the tokens of a request's messages and tool definitions."""
        return self._counter.messages(messages) + self._counter.tools(tools)

    def output_tokens(self, completion: Completion) -> int:
        """Returns the tokens of a completion's text and tool calls."""
        total = self._counter.text(completion.content)
        for call in completion.tool_calls:
            total += self._counter.text(call.name) + self._counter.text(call.arguments)
        return total

    def cost_usd(self, model: str, usage: Usage) -> float:
        """Returns the USD cost of `usage` on `model` (0 for a model the table has no price for)."""
        price = self.prices.price_of(model)
        return 0.0 if price is None else price.cost(usage.input_tokens, usage.output_tokens)


class UsageRecorder:
    """Writes calls to the usage ledger for the owner, API key and turn bound in the context
    (`observability.attribution`); calls made outside a turn (no owner) are not recorded."""

    def __init__(self, ledger: UsageLedger, *, clock: Callable[[], datetime]) -> None:
        self.ledger = ledger
        self._clock = clock

    def record(self, call: ModelCall) -> None:
        """Records one call made now; raises StorageUnavailable."""
        record = self.entry(call)
        if record is not None:
            self.ledger.add(record)

    def record_cached(self, calls: Sequence[ModelCall]) -> None:
        """Records calls answered from the response cache (free, but they count as turns)."""
        for call in calls:
            self.record(call)

    def entry(self, call: ModelCall, *, pending: bool = False) -> UsageRecord | None:
        """Returns the ledger entry of `call` in this context; None outside a turn."""
        owner = current_attribution().owner
        if not owner:
            return None
        turn = current_turn()
        return UsageRecord(owner, turn.key_id, turn.turn_id, self._clock(), call, pending)


class MeteredChatModel:
    """A ChatModel whose completions carry their usage, USD cost, provider and latency, and
    whose calls are recorded in the usage ledger for the owner, API key and turn bound in
    the context (`observability.attribution`); calls outside a turn (no owner) are not.

    Tokens are the provider's counts; when it reports none, the prompt and the completion
    are counted with the token counter. The cost comes from the price table under the model
    that answered (its dated name is priced as its family). A failed call records nothing.

    With a `gate`, a call for an owner or key with a budget first reserves its worst case:
    the prompt's tokens and `max_tokens` at the highest price of the models that may answer
    (any of a fallback chain); BudgetExceeded (or BudgetUnavailable) is raised without
    calling the model. The reservation is settled to the actual cost, or given back when the
    call fails.
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        metering: Metering,
        recorder: UsageRecorder | None,
        gate: BudgetGate | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._model = model
        self._metering = metering
        self._recorder = recorder
        self._gate = gate
        self._timer = timer
        names = [part.partition(":")[2] or part for part in model.name.split(">")]
        self._worst_price = metering.prices.highest(names)

    @property
    def name(self) -> str:
        return self._model.name

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Returns the wrapped model's completion, metered; its errors propagate unchanged.

        Raises BudgetExceeded, BudgetUnavailable before any call when a budget says no.
        """
        operation = current_operation()
        hold = self._reserve(messages, tools, max_tokens, operation)
        started = self._timer()
        try:
            completion = self._model.complete(
                messages, tools=tools, max_tokens=max_tokens, on_text=on_text
            )
        except BaseException:
            if hold is not None:
                self._give_back(hold)
            raise
        metered = self._metered(completion, messages, tools, self._timer() - started)
        call = ModelCall.of(metered, operation)
        if hold is not None and self._gate is not None:
            self._gate.settle(hold, replace(hold.entry, call=call))
        elif self._recorder is not None:
            self._recorder.record(call)
        return metered

    def _reserve(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        operation: str,
    ) -> Hold | None:
        if self._gate is None or self._recorder is None:
            return None
        owner, key_id = current_attribution().owner, current_turn().key_id
        if not owner or not self._gate.applies(owner, key_id):
            return None
        prompt_tokens = self._metering.prompt_tokens(messages, tools)
        worst = worst_case_usd(prompt_tokens, max_tokens, self._worst_price)
        provider, _, model = self._model.name.partition(">")[0].partition(":")
        call = ModelCall(operation, provider, model or provider, prompt_tokens, max_tokens, worst)
        entry = self._recorder.entry(call, pending=True)
        return None if entry is None else self._gate.reserve(entry)

    def _give_back(self, hold: Hold) -> None:
        assert self._gate is not None
        try:
            self._gate.release(hold)
        except Exception:
            # The call's own failure is what the caller must see; the pending record stays
            # in the ledger at its worst case (counted too much, never too little).
            logger.warning("a failed call's reservation could not be given back", exc_info=True)

    def _metered(
        self,
        completion: Completion,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        seconds: float,
    ) -> Completion:
        usage = completion.usage
        if usage == Usage():
            usage = Usage(
                self._metering.prompt_tokens(messages, tools),
                self._metering.output_tokens(completion),
            )
        provider, _, configured = self._model.name.partition(">")[0].partition(":")
        model = completion.model or configured or provider
        return replace(
            completion,
            usage=usage,
            model=model,
            provider=completion.provider or provider,
            cost_usd=self._metering.cost_usd(model, usage),
            latency_s=seconds,
        )
