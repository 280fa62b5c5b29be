"""ToolRunner: runs one model step's tool calls in parallel on a bounded pool, in the model's order."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol

from chat_service.llm.base import ToolCall, ToolSpec
from tools.registry import InvalidToolArguments, ToolError, ToolRegistry, parse_arguments

logger = logging.getLogger(__name__)

TRUNCATION_MARK = "…[truncated]"


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool call produced: its text for the model, and whether it succeeded."""

    call: ToolCall
    content: str
    ok: bool


class ResultCache(Protocol):
    """Reuses tool results (chat_service.tool_cache.ToolResultCache)."""

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
    """

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        executor: Executor,
        max_result_chars: int = 8000,
        timeout_s: float = 30.0,
        results: ResultCache | None = None,
    ) -> None:
        self._registry = registry
        self._executor = executor
        self._max_result_chars = max_result_chars
        self._timeout_s = timeout_s
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
        futures: list[Future[str]] = [
            self._executor.submit(self._run, call, owner) for call in calls
        ]
        return [self._result(call, future) for call, future in zip(calls, futures, strict=True)]

    def _run(self, call: ToolCall, owner: str) -> str:
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

    def _result(self, call: ToolCall, future: Future[str]) -> ToolResult:
        try:
            content = future.result(timeout=self._timeout_s)
        except FutureTimeout:
            future.cancel()
            logger.warning("tool timed out", extra={"tool": call.name})
            return self._failure(call, f"the tool did not answer within {self._timeout_s:g} s")
        except ToolError as exc:
            logger.info("tool failed", extra={"tool": call.name, "reason": type(exc).__name__})
            return self._failure(call, str(exc))
        except Exception:
            logger.exception("tool raised an unexpected error", extra={"tool": call.name})
            return self._failure(call, "the tool failed unexpectedly")
        return ToolResult(call, self._capped(content), ok=True)

    def _failure(self, call: ToolCall, message: str) -> ToolResult:
        return ToolResult(call, self._capped(json.dumps({"error": message})), ok=False)

    def _capped(self, content: str) -> str:
        if len(content) <= self._max_result_chars:
            return content
        return content[: max(0, self._max_result_chars - len(TRUNCATION_MARK))] + TRUNCATION_MARK
