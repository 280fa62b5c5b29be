"""ObservedToolCall: the span and the metrics of one tool call, reported exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import Token
from types import TracebackType

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, StatusCode

from chat_service.observability.metrics import Metrics

OUTCOMES = ("ok", "error", "timeout", "invalid_arguments")


class ObservedToolCall:
    """One tool call: its span started when this object was made, as a child of the span
    current then; `finish(outcome)` ends the span and counts the call.

    Only the first `finish` counts: a call its caller gave up on ("timeout") that ends
    later is not reported again. As a context manager (entered on the thread that runs
    the tool) it makes the span current there and, on exit, finishes with `outcome`
    ("ok" unless set), or "error" when an exception escapes and no other outcome was set.
    """

    def __init__(
        self, *, tool: str, span: Span, metrics: Metrics, clock: Callable[[], float]
    ) -> None:
        self.tool = tool
        self.outcome = "ok"
        self._span = span
        self._metrics = metrics
        self._clock = clock
        self._started = clock()
        self._finished = False
        self._lock = threading.Lock()
        self._token: Token[Context] | None = None

    def __enter__(self) -> ObservedToolCall:
        self._token = context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            context.detach(self._token)
            self._token = None
        if exc is not None and self.outcome == "ok":
            self.outcome = "error"
        error_type = type(exc).__qualname__ if exc is not None else None
        self.finish(self.outcome, error_type=error_type)

    def finish(self, outcome: str, *, error_type: str | None = None) -> bool:
        """Ends the span and records the call with `outcome` (one of OUTCOMES); returns
        False, doing nothing (the span has ended), when the call was finished before."""
        with self._lock:
            if self._finished:
                return False
            self._finished = True
        if error_type is not None:
            self._span.set_attribute("error.type", error_type)
        self._span.set_attribute("chat.tool.outcome", outcome)
        if outcome != "ok":
            self._span.set_status(StatusCode.ERROR, outcome)
        self._span.end()
        self._metrics.record_tool_call(self.tool, outcome, self._clock() - self._started)
        return True
