"""Both SDK clients behind one synchronous face, so one test body checks sync and async."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from chat_client import AsyncChatClient, ChatClient


class AsyncClientRunner:
    """Runs each `AsyncChatClient` method to completion on a fresh event loop (async
    iterators, and the async iterables streams return, are collected into lists)."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self._base_url = base_url
        self._options = options

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                async with AsyncChatClient(self._base_url, **self._options) as client:
                    method = getattr(client, name)
                    if inspect.isasyncgenfunction(method):
                        return [item async for item in method(*args, **kwargs)]
                    result = await method(*args, **kwargs)
                    if hasattr(result, "__aiter__"):
                        return [item async for item in result]
                    return result

            return asyncio.run(run())

        return call


def make_client(kind: str, base_url: str, **options: Any) -> Any:
    """Returns a `ChatClient` ("sync") or an `AsyncClientRunner` ("async")."""
    if kind == "sync":
        return ChatClient(base_url, **options)
    return AsyncClientRunner(base_url, **options)
