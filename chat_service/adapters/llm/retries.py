"""RetryingChatModel: retries transient provider failures with exponential backoff and jitter.

The schedule comes from the `backoff` package (`backoff.expo` capped at the maximum delay,
then `backoff.full_jitter`); the loop is ours because backoff's decorators sleep with
`time.sleep`, which tests cannot replace, and cannot honour a Retry-After header exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import backoff

from chat_service.adapters.llm.streamed_text import StreamedText
from chat_service.core.errors import ModelUnavailable
from chat_service.ports.chat_model import ChatMessage, ChatModel, Completion, TextSink, ToolSpec

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Jitter = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `max_attempts` calls in all; waits grow as base·2^n up to `max_delay_s`."""

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 5.0


class RetryingChatModel:
    """Wraps a ChatModel: ModelUnavailable (429, 5xx, timeouts, connection errors) is
    retried, ModelRejected (other 4xx) is not.

    The wait before retry n is `full_jitter(min(base·2^(n-1), max))`, or exactly the
    provider's Retry-After when it sent one. A Retry-After longer than `max_delay_s` ends
    the retries at once: waiting that long would outlast the client, and the next provider
    of the chain can answer now.
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        policy: RetryPolicy,
        sleep: Sleep = time.sleep,
        jitter: Jitter = backoff.full_jitter,
    ) -> None:
        self._model = model
        self._policy = policy
        self._sleep = sleep
        self._jitter = jitter

    @property
    def name(self) -> str:
        """Returns the wrapped model's name."""
        return self._model.name

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Returns the wrapped model's completion; raises its last error once retries end, or
        at once when the failed attempt had already streamed text to `on_text`."""
        sink = StreamedText(on_text)
        delays = backoff.expo(
            base=2, factor=self._policy.base_delay_s, max_value=self._policy.max_delay_s
        )
        next(delays)  # backoff.expo is a primed generator: its first value is a placeholder
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                return self._model.complete(
                    messages, tools=tools, max_tokens=max_tokens, on_text=sink.target
                )
            except ModelUnavailable as exc:
                wait_s = self._wait(exc, next(delays))
                if attempt == self._policy.max_attempts or wait_s is None or sink.started:
                    raise
                logger.info(
                    "retrying the language model",
                    extra={"model": self.name, "attempt": attempt, "wait_s": round(wait_s, 3)},
                )
                self._sleep(wait_s)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, exc: ModelUnavailable, delay_s: float) -> float | None:
        if exc.retry_after_s is None:
            return self._jitter(delay_s)
        if exc.retry_after_s > self._policy.max_delay_s:
            return None
        return max(0.0, exc.retry_after_s)


def no_jitter(value: float) -> float:
    """A jitter that keeps the computed delay (for tests and benchmarks)."""
    return value


__all__ = ["RetryPolicy", "RetryingChatModel", "no_jitter"]
