"""ProviderChain: the configured providers in order, each behind its circuit breaker."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from chat_service.adapters.llm.streamed_text import StreamedText
from chat_service.core.breakers import BreakerBoard, CircuitOpen
from chat_service.core.errors import ModelUnavailable
from chat_service.ports.chat_model import ChatMessage, ChatModel, Completion, TextSink, ToolSpec

logger = logging.getLogger(__name__)


def _counts(exc: BaseException) -> bool:
    return isinstance(exc, ModelUnavailable)


class ProviderChain:
    """A ChatModel that asks each provider in turn until one answers.

    A provider that is unavailable (after its own retries) counts a failure on its breaker
    "llm:<name>" and the next one is asked; one whose breaker is open is skipped without
    a call. ModelRejected (the request itself is refused) is raised at once: another
    provider would refuse it too. When none answers, ModelUnavailable names each
    provider and why.
    """

    def __init__(self, providers: Sequence[ChatModel], *, breakers: BreakerBoard) -> None:
        if not providers:
            raise ValueError("a provider chain needs at least one provider")
        self._providers = [
            (p, breakers.breaker(f"llm:{p.name}", counts=_counts)) for p in providers
        ]

    @property
    def name(self) -> str:
        """Returns the providers' names joined by ">", e.g. "openai:gpt-4o-mini>anthropic:…"."""
        return ">".join(p.name for p, _ in self._providers)

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Returns the first provider's completion; raises ModelUnavailable if none answers."""
        failures: list[str] = []
        sink = StreamedText(on_text)
        for provider, breaker in self._providers:

            def call(model: ChatModel = provider) -> Completion:
                return model.complete(
                    messages, tools=tools, max_tokens=max_tokens, on_text=sink.target
                )

            try:
                completion: Completion = breaker.call(call)
                return replace(completion, answered_by=provider.name)
            except CircuitOpen:
                failures.append(f"{provider.name}: circuit open")
            except ModelUnavailable as exc:
                if sink.started:
                    raise  # the client has seen this provider's text: no other may answer
                failures.append(f"{provider.name}: {exc}")
                logger.warning(
                    "language model provider unavailable", extra={"provider": provider.name}
                )
        raise ModelUnavailable(
            "no language model provider is available (" + "; ".join(failures) + "); retry later"
        )
