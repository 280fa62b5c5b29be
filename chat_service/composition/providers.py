"""Builds the language models from settings: the allow-list, each model with its fallback
chain of providers, each with retries; or the offline model."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from chat_service.adapters.llm.anthropic_model import AnthropicChatModel, anthropic_client
from chat_service.adapters.llm.offline import OfflineChatModel
from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.adapters.llm.provider_chain import ProviderChain
from chat_service.adapters.llm.retries import RetryingChatModel, RetryPolicy
from chat_service.config import Settings
from chat_service.core.breakers import BreakerBoard
from chat_service.core.model_catalog import ModelCatalog, ModelOption, display_name
from chat_service.ports.chat_model import ChatModel

logger = logging.getLogger(__name__)

Observe = Callable[[ChatModel], ChatModel]


def _unobserved(model: ChatModel) -> ChatModel:
    return model


def provider_adapter(settings: Settings, model_id: str) -> ChatModel:
    """Returns the SDK adapter of one "provider:model" of the allow-list."""
    provider, _, model = model_id.partition(":")
    if provider == "openai":
        client = openai_client(
            # Local OpenAI-compatible servers often need no key, but the SDK wants one.
            api_key=settings.openai_api_key.reveal() or "unused",
            base_url=settings.openai_base_url or None,
            timeout_s=settings.llm_timeout_s,
        )
        return OpenAIChatModel(client, model=model)
    anthropic = anthropic_client(
        api_key=settings.anthropic_api_key.reveal() or "unused",
        base_url=settings.anthropic_base_url or None,
        timeout_s=settings.llm_timeout_s,
    )
    return AnthropicChatModel(anthropic, model=model)


def fallback_chain(
    model_ids: Sequence[str], chosen: str, provider_order: Sequence[str]
) -> list[str]:
    """Returns the models that answer for `chosen`, in order: `chosen` itself, then, for each
    other provider (LLM_PROVIDERS' order, then the allow-list's), that provider's first model
    of the allow-list. A provider that is down is thus replaced by another one, never by
    another model of the same provider."""
    chain = [chosen]
    chosen_provider = chosen.partition(":")[0]
    providers = dict.fromkeys([*provider_order, *(m.partition(":")[0] for m in model_ids)])
    for provider in providers:
        if provider == chosen_provider:
            continue
        first = next((m for m in model_ids if m.partition(":")[0] == provider), None)
        if first is not None:
            chain.append(first)
    return chain


def build_model_catalog(
    settings: Settings,
    *,
    breakers: BreakerBoard,
    sleep: Callable[[float], None],
    observe: Observe = _unobserved,
) -> ModelCatalog:
    """Returns the allow-list (MODELS) with each model's chain: the model, then the other
    providers' (see fallback_chain), each retried per RETRY_* and guarded by its breaker;
    the offline model alone when no provider is configured.

    `observe` wraps each provider (retries included) before the chain, so every call is
    reported under the provider that answered it, or failed.
    """
    listed = settings.model_list()
    if not listed:
        logger.warning("no language model provider configured: the offline model will answer")
        return ModelCatalog.single(observe(OfflineChatModel()))
    prices = settings.price_table()
    policy = RetryPolicy(
        max_attempts=settings.retry_max_attempts,
        base_delay_s=settings.retry_base_delay_ms / 1000,
        max_delay_s=settings.retry_max_delay_ms / 1000,
    )
    ids = [model_id for model_id, _ in listed]
    retrying = {
        model_id: observe(
            RetryingChatModel(provider_adapter(settings, model_id), policy=policy, sleep=sleep)
        )
        for model_id in ids
    }
    entries: list[tuple[ModelOption, ChatModel]] = []
    for model_id, shown in listed:
        price = prices.price_of(model_id.partition(":")[2])
        option = ModelOption(
            model_id,
            shown or display_name(model_id),
            input_price=None if price is None else price.input_per_million,
            output_price=None if price is None else price.output_per_million,
        )
        chain = fallback_chain(ids, model_id, settings.provider_names)
        entries.append((option, ProviderChain([retrying[m] for m in chain], breakers=breakers)))
    return ModelCatalog(entries)


def build_chat_model(
    settings: Settings,
    *,
    breakers: BreakerBoard,
    sleep: Callable[[float], None],
    observe: Observe = _unobserved,
) -> ChatModel:
    """Returns the default model's chain (see build_model_catalog)."""
    catalog = build_model_catalog(settings, breakers=breakers, sleep=sleep, observe=observe)
    return catalog.chat_model("")
