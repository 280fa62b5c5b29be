"""Telemetry: the metrics and the tracer, handed to whatever reports what it does.

Components get this object (or just `metrics`) through their constructors; they never
reach for globals. The hooks:

- `telemetry.observe_model(model)` wraps a ChatModel (one per provider) in spans and metrics;
- `with telemetry.tool_call("weather", call_id=...) as call:` spans and counts a tool call;
  set `call.outcome = "error"` (or "timeout", "rejected") when it failed without raising;
- `telemetry.metrics.cache_event(kind, hit)`, `.rate_limited(scope)`,
  `.set_breaker_state(name, state)` / `.watch_breaker(name, state_of)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry.trace import SpanKind, Tracer

from chat_service.llm.base import ChatModel
from chat_service.observability.metrics import Metrics
from chat_service.observability.model_observer import ObservedChatModel


@dataclass
class ToolCallReport:
    """What a tool call's block may set: its outcome ("ok" unless it says otherwise)."""

    outcome: str = "ok"


@dataclass(frozen=True)
class Telemetry:
    """The service's metrics and tracer, with the hooks built on them."""

    metrics: Metrics
    tracer: Tracer
    clock: Callable[[], float] = field(default=time.perf_counter)

    def observe_model(self, model: ChatModel) -> ChatModel:
        """Returns `model` reporting each call (GenAI span, llm_* and openai_* metrics)."""
        return ObservedChatModel(model, metrics=self.metrics, tracer=self.tracer, clock=self.clock)

    @contextmanager
    def tool_call(self, tool: str, *, call_id: str = "") -> Iterator[ToolCallReport]:
        """Spans (`execute_tool <tool>`, GenAI attributes) and counts one tool call.

        An exception escaping the block counts as outcome "error" and propagates. Tools run
        on other threads must be started with the caller's context
        (`contextvars.copy_context().run`) for the span to join the request's trace.
        """
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
        if call_id:
            attributes["gen_ai.tool.call.id"] = call_id
        report = ToolCallReport()
        started = self.clock()
        with self.tracer.start_as_current_span(
            f"execute_tool {tool}", kind=SpanKind.INTERNAL, attributes=attributes
        ) as span:
            try:
                yield report
            except BaseException as exc:
                report.outcome = "error"
                span.set_attribute("error.type", type(exc).__qualname__)
                raise
            finally:
                span.set_attribute("chat.tool.outcome", report.outcome)
                self.metrics.record_tool_call(tool, report.outcome, self.clock() - started)
