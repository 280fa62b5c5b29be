"""Builds the assistant and what it needs (tools, breakers, model chain, context window)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from pymongo.database import Database

from chat_service.adapters.mongo.prompt_store import MongoPromptStore
from chat_service.composition.providers import build_model_catalog
from chat_service.composition.toolbox import build_tool_registry
from chat_service.config import Settings
from chat_service.core.assistant import Assistant
from chat_service.core.breakers import BreakerBoard
from chat_service.core.budgets import BudgetGate
from chat_service.core.context_window import ContextWindow
from chat_service.core.metering import MeteredChatModel, Metering, UsageRecorder
from chat_service.core.model_catalog import ModelCatalog
from chat_service.core.prompt_book import PromptBook
from chat_service.core.token_counter import TiktokenCounter, offline_encoding
from chat_service.observability.telemetry import Telemetry
from chat_service.ports.chat_model import ChatModel
from tools.runner import ResultCache, ToolRunner


@dataclass(frozen=True, slots=True)
class AssistantParts:
    """The assistant and the collaborators others read (breakers) or must close."""

    assistant: Assistant
    breakers: BreakerBoard
    model: ChatModel
    tools: ToolRunner
    _http: requests.Session
    _tool_pool: ThreadPoolExecutor

    def close(self) -> None:
        """Stops the tool pool and closes the tools' HTTP connections."""
        self._tool_pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


def build_assistant(
    settings: Settings,
    *,
    database: Database[dict[str, Any]],
    clock: Callable[[], datetime],
    model: ChatModel | None = None,
    sleep: Callable[[float], None] = time.sleep,
    telemetry: Telemetry | None = None,
    tool_results: ResultCache | None = None,
    recorder: UsageRecorder | None = None,
    budgets: BudgetGate | None = None,
) -> AssistantParts:
    """Returns the assistant for `settings` with the allow-list of models (MODELS); `model`
    replaces the configured providers (and is then the only model);
    `tool_results` lets the tools' results be reused (see chat_service.core.cache.tool_results).

    With `telemetry`, each provider's calls (or `model`'s) and each tool call are observed.
    Every model call is metered (tokens, cost from the price table, latency) and, with a
    `recorder`, written to the usage ledger; with `budgets`, each call's worst case is
    reserved first against the budgets of its owner and key.
    """
    breakers = BreakerBoard(
        max_failures=settings.circuit_breaker_max_failures,
        cooldown_s=settings.circuit_breaker_cooldown_seconds,
    )
    http = requests.Session()
    pool = ThreadPoolExecutor(max_workers=settings.tool_threads, thread_name_prefix="tool")
    registry = build_tool_registry(settings, http=http, breakers=breakers, clock=clock)
    runner = ToolRunner(
        registry,
        executor=pool,
        max_result_chars=settings.tool_result_max_chars,
        timeout_s=settings.tool_timeout_s,
        observer=telemetry,
        results=tool_results,
    )
    if model is not None:
        catalog = ModelCatalog.single(
            model if telemetry is None else telemetry.observe_model(model)
        )
    elif telemetry is None:
        catalog = build_model_catalog(settings, breakers=breakers, sleep=sleep)
    else:
        catalog = build_model_catalog(
            settings, breakers=breakers, sleep=sleep, observe=telemetry.observe_model
        )
    counter = TiktokenCounter(offline_encoding())
    window = ContextWindow(
        counter,
        max_tokens=settings.max_context_tokens,
        reply_tokens=settings.reply_max_tokens,
    )
    metering = Metering(prices=settings.price_table(), counter=counter)
    catalog = catalog.wrapped(
        lambda chain: MeteredChatModel(chain, metering=metering, recorder=recorder, gate=budgets)
    )
    chat_model = catalog.chat_model("")
    assistant = Assistant(
        chat_model,
        runner,
        window=window,
        models=catalog,
        prompt_book=PromptBook(MongoPromptStore(database), ttl_s=settings.prompt_cache_ttl_s),
        clock=clock,
        max_tool_rounds=settings.max_tool_rounds,
        reply_max_tokens=settings.reply_max_tokens,
        title_max_tokens=settings.title_max_tokens,
    )
    return AssistantParts(assistant, breakers, chat_model, runner, http, pool)
