"""MeteredChatModel: every language-model call's tokens, cost and latency, recorded in the ledger."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

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
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        metering: Metering,
        recorder: UsageRecorder | None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._model = model
        self._metering = metering
        self._recorder = recorder
        self._timer = timer

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
        """Returns the wrapped model's completion, metered; its errors propagate unchanged."""
        started = self._timer()
        completion = self._model.complete(
            messages, tools=tools, max_tokens=max_tokens, on_text=on_text
        )
        metered = self._metered(completion, messages, tools, self._timer() - started)
        if self._recorder is not None:
            self._recorder.record(ModelCall.of(metered, current_operation()))
        return metered

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
