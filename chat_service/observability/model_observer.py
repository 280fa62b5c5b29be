"""Observes every language-model call: a GenAI span, request, first-token, token and cost metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from chat_service.core.errors import ModelUnavailable
from chat_service.observability.attribution import current_attribution, current_operation
from chat_service.observability.metrics import Metrics
from chat_service.ports.chat_model import (
    ChatMessage,
    ChatModel,
    Completion,
    ModelRejected,
    TextSink,
    ToolSpec,
)


class ObservedChatModel:
    """A ChatModel that reports each call of the model it wraps.

    Span `chat <model>` (kind CLIENT) with the OpenTelemetry GenAI attributes: operation,
    provider, request and response model, max tokens, input and output token counts, and
    `error.type` on failure. Metrics: `llm_*` (and the original `openai_*` for OpenAI),
    attributed to the owner, platform and user bound in the context. Wrap each provider
    separately (before any fallback chain) so each call is reported under its provider.

    A streamed call (with `on_text`) also reports its time to the first text delta
    (`llm_time_to_first_token_seconds`, span attribute
    `gen_ai.response.time_to_first_chunk`), retries before it included; a stream the
    caller stopped (its `on_text` raised) counts as outcome "cancelled", not as a failure.
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        metrics: Metrics,
        tracer: Tracer,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._model = model
        self._metrics = metrics
        self._tracer = tracer
        self._clock = clock
        provider, _, model_name = model.name.partition(":")
        # "openai:gpt-4o-mini"; a name without a provider (the offline model) is both.
        self._provider, self._model_name = (provider, model_name or provider)

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
        """Returns the wrapped model's completion; its errors propagate unchanged."""
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self._provider,
            "gen_ai.system": self._provider,  # the older name of the attribute
            "gen_ai.request.model": self._model_name,
            "gen_ai.request.max_tokens": max_tokens,
            "chat.operation": current_operation(),
        }
        with self._tracer.start_as_current_span(
            f"chat {self._model_name}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            started = self._clock()
            sink = None if on_text is None else _FirstDelta(on_text, self._clock)
            try:
                completion = self._model.complete(
                    messages, tools=tools, max_tokens=max_tokens, on_text=sink
                )
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                self._first_token(span, sink, started)
                cancelled = sink is not None and sink.raised is exc
                self._record(
                    "cancelled" if cancelled else _outcome(exc), self._clock() - started, None
                )
                raise
            self._first_token(span, sink, started)
            seconds = self._clock() - started
            usage = completion.usage
            span.set_attribute("gen_ai.response.model", completion.model or self._model_name)
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            self._record("ok", seconds, completion)
            return completion

    def _first_token(self, span: Span, sink: _FirstDelta | None, started: float) -> None:
        if sink is None or sink.at is None:
            return
        seconds = sink.at - started
        span.set_attribute("gen_ai.response.time_to_first_chunk", seconds)
        self._metrics.llm.record_first_token(
            provider=self._provider,
            model=self._model_name,
            operation=current_operation(),
            seconds=seconds,
        )

    def _record(self, outcome: str, seconds: float, completion: Completion | None) -> None:
        usage = completion.usage if completion else None
        self._metrics.llm.record(
            provider=self._provider,
            model=self._model_name,
            operation=current_operation(),
            outcome=outcome,
            seconds=seconds,
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            priced_model=completion.model if completion else "",
            who=current_attribution(),
        )


class _FirstDelta:
    """A TextSink passing each delta on, noting when the first came and what the caller's
    sink raised (a caller stopping the stream is not the model failing)."""

    __slots__ = ("_clock", "_sink", "at", "raised")

    def __init__(self, sink: TextSink, clock: Callable[[], float]) -> None:
        self._sink = sink
        self._clock = clock
        self.at: float | None = None
        self.raised: BaseException | None = None

    def __call__(self, text: str) -> None:
        if self.at is None and text:
            self.at = self._clock()
        try:
            self._sink(text)
        except BaseException as exc:
            self.raised = exc
            raise


def _outcome(exc: Exception) -> str:
    if isinstance(exc, ModelRejected):
        return "rejected"
    if isinstance(exc, ModelUnavailable):
        return "unavailable"
    return "error"
