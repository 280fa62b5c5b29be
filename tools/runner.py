"""ToolRunner: runs one model step's tool calls in parallel on a bounded pool, in the model's order."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from tools.registry import InvalidToolArguments, ToolError, ToolRegistry, parse_arguments
from tools.spec import ToolCall, ToolSpec

logger = logging.getLogger(__name__)

TRUNCATION_MARK = "…[truncated]"
UNKNOWN_TOOL = "unknown"  # the label of calls to a tool the registry does not have


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool call produced: its text for the model, and whether it succeeded."""

    call: ToolCall
    content: str
    ok: bool


class ObservedCall(Protocol):
    """One tool call being reported (chat_service.observability.tool_calls.ObservedToolCall).

    Entered on the thread that runs the tool; the first `finish` (or the exit) reports it.
    """

    outcome: str

    def __enter__(self) -> object: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def finish(self, outcome: str) -> bool: ...


class ToolCallObserver(Protocol):
    """Reports tool calls (Telemetry does): `tool_call` starts reporting one."""

    def tool_call(self, tool: str, *, call_id: str = "") -> ObservedCall: ...


class _Unobserved:
    outcome = "ok"

    def tool_call(self, tool: str, *, call_id: str = "") -> ObservedCall:
        return self

    def __enter__(self) -> object:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def finish(self, outcome: str) -> bool:
        return False


class ResultCache(Protocol):
    """Reuses tool results (chat_service.core.cache.tool_results.ToolResultCache)."""

    def run(
        self,
        *,
        owner: str,
        tool_name: str,
        arguments: Mapping[str, Any],
        execute: Callable[[], str],
    ) -> str:
        """Returns `execute()`'s result, or a fresh earlier one for the same call; what
        `execute` raises propagates."""
        ...


class ToolRunner:
    """Runs tool calls through a registry; never raises for a tool's failure.

    A failure (invalid arguments, unknown tool, ToolError, timeout, unexpected exception)
    becomes the result `{"error": "<safe message>"}` so the model can tell the user; the
    text of unexpected exceptions is only logged. Results longer than `max_result_chars`
    are cut and end with TRUNCATION_MARK. `timeout_s` bounds the wait for each call (the
    tools' own network timeouts should be shorter). With `results`, successful results are
    reused as that cache decides (failures never are).

    Each call is reported to `observer` with outcome "ok", "error", "timeout" or
    "invalid_arguments", under the tool's name ("unknown" for names not in the registry,
    which come from the model). It runs in a copy of the caller's context, so its span,
    logs and anything it calls belong to the caller's request and trace.
    """

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        executor: Executor,
        max_result_chars: int = 8000,
        timeout_s: float = 30.0,
        observer: ToolCallObserver | None = None,
        results: ResultCache | None = None,
    ) -> None:
        self._registry = registry
        self._executor = executor
        self._max_result_chars = max_result_chars
        self._timeout_s = timeout_s
        self._observer: ToolCallObserver = observer or _Unobserved()
        self._results = results

    @property
    def registry(self) -> ToolRegistry:
        """Returns the registry the runner runs tools from."""
        return self._registry

    def specs(self) -> tuple[ToolSpec, ...]:
        """Returns the registry's tools as offered to a model."""
        return self._registry.specs()

    def run_all(self, calls: Sequence[ToolCall], *, owner: str = "") -> list[ToolResult]:
        """Returns one result per call, in the order of `calls`; the calls run concurrently.

        `owner` scopes the reuse of results (one owner never gets another's).
        """
        started = [self._start(call, owner) for call in calls]
        return [
            self._result(call, observed, future)
            for call, (observed, future) in zip(calls, started, strict=True)
        ]

    def _start(self, call: ToolCall, owner: str) -> tuple[ObservedCall, Future[str]]:
        label = call.name if call.name in self._registry else UNKNOWN_TOOL
        observed = self._observer.tool_call(label, call_id=call.id)
        # One copy per call: a context can be entered by one thread at a time.
        run_in_context = contextvars.copy_context().run
        return observed, self._executor.submit(run_in_context, self._run, call, owner, observed)

    def _run(self, call: ToolCall, owner: str, observed: ObservedCall) -> str:
        # A result reused from the cache is reported like a call (outcome "ok").
        with observed:
            try:
                return self._cached_or_run(call, owner)
            except InvalidToolArguments:
                observed.outcome = "invalid_arguments"
                raise

    def _cached_or_run(self, call: ToolCall, owner: str) -> str:
        if self._results is None:
            return self._registry.run(call.name, call.arguments)
        try:
            arguments = parse_arguments(call.arguments)
        except InvalidToolArguments:
            return self._registry.run(call.name, call.arguments)  # raises the same error
        return self._results.run(
            owner=owner,
            tool_name=call.name,
            arguments=arguments,
            execute=lambda: self._registry.run(call.name, call.arguments),
        )

    def _result(self, call: ToolCall, observed: ObservedCall, future: Future[str]) -> ToolResult:
        try:
            content = future.result(timeout=self._timeout_s)
        except FutureTimeout:
            future.cancel()
            observed.finish("timeout")
            logger.warning("tool timed out", extra={"tool": call.name})
            return self._failure(call, f"the tool did not answer within {self._timeout_s:g} s")
        except ToolError as exc:
            logger.info("tool failed", extra={"tool": call.name, "reason": type(exc).__name__})
            return self._failure(call, str(exc))
        except Exception:
            observed.finish("error")  # e.g. cancelled before it ran: nothing reported it
            logger.exception("tool raised an unexpected error", extra={"tool": call.name})
            return self._failure(call, "the tool failed unexpectedly")
        return ToolResult(call, self._capped(content), ok=True)

    def _failure(self, call: ToolCall, message: str) -> ToolResult:
        return ToolResult(call, self._capped(json.dumps({"error": message})), ok=False)

    def _capped(self, content: str) -> str:
        if len(content) <= self._max_result_chars:
            return content
        return content[: max(0, self._max_result_chars - len(TRUNCATION_MARK))] + TRUNCATION_MARK
