"""Runs a python-telegram-bot Application with long polling on its own event loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def polling(application: Any, *, timeout_s: float = 30.0) -> Iterator[None]:
    """Starts `application` as `run_polling` would (initialize, post_init, start polling,
    start) and stops it when the block ends (then post_shutdown); raises if it does not
    start within `timeout_s`."""
    started = threading.Event()
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        try:
            await application.initialize()
            if application.post_init:
                await application.post_init(application)
            await application.updater.start_polling(poll_interval=0.0, timeout=1)
            await application.start()
        except BaseException as exc:
            failure.append(exc)
            started.set()
            raise
        started.set()
        await stop.wait()
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    if not started.wait(timeout_s) or failure:
        raise RuntimeError(f"the bot did not start: {failure}")
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout_s)
        loop.close()
