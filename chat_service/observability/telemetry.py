"""Telemetry: the metrics and the tracer, handed to whatever reports what it does.

Components get this object (or just `metrics`) through their constructors; they never
reach for globals. The hooks:

- `telemetry.observe_model(model)` wraps a ChatModel (one per provider) in spans and metrics;
- `with telemetry.tool_call("get_weather", call_id=...) as call:` spans and counts a tool
  call; set `call.outcome` ("invalid_arguments"...) when it failed without raising, or
  `call.finish("timeout")` from the thread that gave up waiting (tools/runner.py does);
- `telemetry.metrics.cache_event(kind, hit)`, `.rate_limited(scope)`,
  `.set_breaker_state(name, state)` / `.watch_breakers(states_of)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from chat_service.observability.metrics import Metrics
from chat_service.observability.model_observer import ObservedChatModel
from chat_service.observability.tool_calls import ObservedToolCall
from chat_service.ports.chat_model import ChatModel


@dataclass(frozen=True)
class Telemetry:
    """The service's metrics and tracer, with the hooks built on them."""

    metrics: Metrics
    tracer: Tracer
    clock: Callable[[], float] = field(default=time.perf_counter)

    def observe_model(self, model: ChatModel) -> ChatModel:
        """Returns `model` reporting each call (GenAI span, llm_* and openai_* metrics)."""
        return ObservedChatModel(model, metrics=self.metrics, tracer=self.tracer, clock=self.clock)

    def tool_call(self, tool: str, *, call_id: str = "") -> ObservedToolCall:
        """Starts reporting one call of `tool`: a span `execute_tool <tool>` (GenAI
        attributes) under the current span, ended and counted by the returned object.

        Tools run on other threads must be started with the caller's context
        (`contextvars.copy_context().run`) so that their logs carry the request's ids.
        """
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.tool.type": "function",
        }
        if call_id:
            attributes["gen_ai.tool.call.id"] = call_id
        span = self.tracer.start_span(
            f"execute_tool {tool}", kind=SpanKind.INTERNAL, attributes=attributes
        )
        return ObservedToolCall(tool=tool, span=span, metrics=self.metrics, clock=self.clock)
