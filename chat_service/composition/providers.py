"""Builds the language model from settings: the provider chain, each with retries, or offline."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chat_service.adapters.llm.anthropic_model import AnthropicChatModel, anthropic_client
from chat_service.adapters.llm.offline import OfflineChatModel
from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.adapters.llm.provider_chain import ProviderChain
from chat_service.adapters.llm.retries import RetryingChatModel, RetryPolicy
from chat_service.config import Settings
from chat_service.core.breakers import BreakerBoard
from chat_service.ports.chat_model import ChatModel

logger = logging.getLogger(__name__)

Observe = Callable[[ChatModel], ChatModel]


def _unobserved(model: ChatModel) -> ChatModel:
    return model


def configured_providers(settings: Settings) -> list[ChatModel]:
    """Returns the adapters named in LLM_PROVIDERS that have a key or a base URL, in order."""
    providers: list[ChatModel] = []
    for name in settings.provider_names:
        if name == "openai" and (settings.openai_api_key or settings.openai_base_url):
            client = openai_client(
                # Local OpenAI-compatible servers often need no key, but the SDK wants one.
                api_key=settings.openai_api_key.reveal() or "unused",
                base_url=settings.openai_base_url or None,
                timeout_s=settings.llm_timeout_s,
            )
            providers.append(OpenAIChatModel(client, model=settings.openai_model))
        elif name == "anthropic" and (settings.anthropic_api_key or settings.anthropic_base_url):
            anthropic = anthropic_client(
                api_key=settings.anthropic_api_key.reveal() or "unused",
                base_url=settings.anthropic_base_url or None,
                timeout_s=settings.llm_timeout_s,
            )
            providers.append(AnthropicChatModel(anthropic, model=settings.anthropic_model))
    return providers


def build_chat_model(
    settings: Settings,
    *,
    breakers: BreakerBoard,
    sleep: Callable[[float], None],
    observe: Observe = _unobserved,
) -> ChatModel:
    """Returns the chain of configured providers, each retried per RETRY_* and guarded by
    its breaker; the offline model when none is configured.

    `observe` wraps each provider (retries included) before the chain, so every call is
    reported under the provider that answered it, or failed.
    """
    providers = configured_providers(settings)
    if not providers:
        logger.warning("no language model provider configured: the offline model will answer")
        return observe(OfflineChatModel())
    policy = RetryPolicy(
        max_attempts=settings.retry_max_attempts,
        base_delay_s=settings.retry_base_delay_ms / 1000,
        max_delay_s=settings.retry_max_delay_ms / 1000,
    )
    retrying: list[ChatModel] = [
        observe(RetryingChatModel(p, policy=policy, sleep=sleep)) for p in providers
    ]
    return ProviderChain(retrying, breakers=breakers)
