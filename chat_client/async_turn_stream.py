"""`AsyncTurnStream`: a streamed turn's events on the asyncio client, reattached by itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from types import TracebackType

import httpx2

from chat_client.errors import ChatClientError, ConnectionFailed, TimedOut
from chat_client.turn_events import TurnEvent
from chat_client.turn_progress import TurnProgress, ended_early

AsyncReopen = Callable[[str, int], Awaitable[httpx2.Response]]


class AsyncTurnStream:
    """The asyncio twin of `TurnStream` (`async for event in stream`, `async with stream`,
    `aclose()`): the same events, reattachment and errors."""

    def __init__(
        self,
        response: httpx2.Response,
        progress: TurnProgress,
        *,
        reopen: AsyncReopen,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._response = response
        self._progress = progress
        self._reopen = reopen
        self._sleep = sleep
        self._events = self._run()

    @property
    def turn_id(self) -> str:
        """The turn's id (from the X-Turn-Id header, else from its first event)."""
        return self._progress.turn_id

    @property
    def last_seq(self) -> int:
        """The `seq` of the last event yielded (0 before the first)."""
        return self._progress.last_seq

    def __aiter__(self) -> AsyncIterator[TurnEvent]:
        return self._events

    async def aclose(self) -> None:
        """Hangs up (the turn itself goes on)."""
        await self._events.aclose()
        await self._response.aclose()

    async def __aenter__(self) -> AsyncTurnStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[TurnEvent]:
        while True:
            error: ChatClientError
            try:
                async for chunk in self._response.aiter_bytes():
                    for event in self._progress.feed(chunk):
                        yield event
                    if self._progress.ended:
                        return
                error = ended_early(self.turn_id)
            except (httpx2.HTTPError, httpx2.StreamError, OSError) as exc:
                error = broken(exc)
            finally:
                await self._response.aclose()
            self._response = await self._reattach(error)

    async def _reattach(self, error: ChatClientError) -> httpx2.Response:
        while True:
            await self._sleep(self._progress.retry_delay_s(error))  # raises when it is time
            try:
                response = await self._reopen(self._progress.turn_id, self._progress.last_seq)
            except ChatClientError as exc:
                error = exc
                continue
            self._progress.connected()
            return response


def broken(exc: Exception) -> ChatClientError:
    """The error of a stream whose connection failed while reading."""
    if isinstance(exc, httpx2.TimeoutException):
        return TimedOut(f"the stream went silent: {exc!r}")
    return ConnectionFailed(f"the stream broke: {exc!r}", before_send=False)
