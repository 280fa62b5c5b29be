"""`LiveReply`: a reply shown while it is written, within the Bot API's edit limits.

Telegram allows about one message edit per second in a chat, refuses an edit that changes
nothing ("message is not modified") and caps a message at 4096 characters. So the text is
shown at most once per `min_interval_s`, only when it changed; the first message waits one
interval too (a quick reply is sent once, whole, with no edits); past the limit the text
goes on in a new message; `finish` shows the full text, after the interval if needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Protocol

from telegram.error import RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from telegram_bot.replies import TELEGRAM_LIMIT, split_message

logger = logging.getLogger(__name__)

EMPTY_REPLY = "(the assistant sent an empty reply)"


class ReplyChannel(Protocol):
    """Where a reply goes: `send` a new message (returns its id), `edit` one sent before."""

    async def send(self, text: str) -> int: ...

    async def edit(self, message_id: int, text: str) -> None: ...


class LiveReply:
    """Shows one reply in one chat: call `update` with the whole text so far as it grows,
    then `finish` with the final text (which may differ: the reply after tool calls)."""

    def __init__(
        self,
        channel: ReplyChannel,
        *,
        limit: int = TELEGRAM_LIMIT,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._channel = channel
        self._limit = limit
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._sleep = sleep
        self._shown: list[tuple[int, str]] = []  # (message id, its text), in order
        self._next_call_at = clock() + min_interval_s

    @property
    def message_ids(self) -> list[int]:
        """The messages sent so far, in order."""
        return [message_id for message_id, _ in self._shown]

    async def update(self, text: str) -> None:
        """Shows `text` if the last call is at least an interval old; failures wait for the
        next update (a RetryAfter pushes it back as Telegram asks)."""
        if self._clock() < self._next_call_at:
            return
        try:
            await self._show(split_message(text, limit=self._limit))
        except RetryAfter as exc:
            self._next_call_at = self._clock() + _seconds(exc)
        except TelegramError as exc:
            logger.warning("a reply's edit failed", extra={"error": type(exc).__name__})

    async def finish(self, text: str) -> None:
        """Shows the full `text` (EMPTY_REPLY when blank), waiting out the interval (and a
        RetryAfter, once). Raises TelegramError when Telegram refuses it."""
        pieces = split_message(text, limit=self._limit) or [EMPTY_REPLY]
        for attempt in range(2):
            if self._shown:
                await self._sleep(max(0.0, self._next_call_at - self._clock()))
            try:
                await self._show(pieces)
                return
            except RetryAfter as exc:
                if attempt:
                    raise
                self._next_call_at = self._clock() + _seconds(exc)

    async def _show(self, pieces: list[str]) -> None:
        for index, piece in enumerate(pieces):
            if index < len(self._shown):
                message_id, shown = self._shown[index]
                if shown == piece:
                    continue
                await self._channel.edit(message_id, piece)
                self._shown[index] = (message_id, piece)
            else:
                self._shown.append((await self._channel.send(piece), piece))
            self._next_call_at = self._clock() + self._min_interval_s


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that this int becomes a timedelta in a later version: both are read.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after = exc.retry_after
    return retry_after if isinstance(retry_after, int | float) else retry_after.total_seconds()
