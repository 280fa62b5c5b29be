"""Builds an Assistant for tests: a model, tools on a small pool, the real token counter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from chat_service.core.assistant import Assistant
from chat_service.core.context_window import ContextWindow
from chat_service.core.model_catalog import ModelCatalog
from chat_service.core.prompt_book import PromptBook
from chat_service.core.token_counter import TiktokenCounter, offline_encoding
from chat_service.ports.chat_model import ChatModel
from tools.registry import Tool, ToolRegistry
from tools.runner import ResultCache, ToolRunner

FIXED_NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="test-tool")


class DictPromptStore:
    """Prompt overrides from a dict keyed by (name, platform); counts reads."""

    def __init__(self, prompts: Mapping[tuple[str, str], str] | None = None) -> None:
        self.prompts = dict(prompts or {})
        self.reads = 0

    def active(self, name: str, platform: str) -> str | None:
        self.reads += 1
        return self.prompts.get((name, platform))


def counter() -> TiktokenCounter:
    return TiktokenCounter(offline_encoding())


def make_assistant(
    model: ChatModel,
    tools: Iterable[Tool] = (),
    *,
    system_prompt: str | None = None,
    max_context_tokens: int = 16_000,
    reply_max_tokens: int = 256,
    max_tool_rounds: int = 5,
    tool_timeout_s: float = 10.0,
    tool_results: ResultCache | None = None,
    models: ModelCatalog | None = None,
) -> Assistant:
    store = DictPromptStore({("system", "all"): system_prompt} if system_prompt else {})
    return Assistant(
        model,
        ToolRunner(
            ToolRegistry(tools), executor=_POOL, timeout_s=tool_timeout_s, results=tool_results
        ),
        window=ContextWindow(
            counter(), max_tokens=max_context_tokens, reply_tokens=reply_max_tokens
        ),
        models=models,
        prompt_book=PromptBook(store),
        clock=lambda: FIXED_NOW,
        max_tool_rounds=max_tool_rounds,
        reply_max_tokens=reply_max_tokens,
    )
