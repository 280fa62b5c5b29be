"""`TurnStream`: a streamed turn's events on the synchronous client, reattached by itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from types import TracebackType

import requests
import urllib3.exceptions

from chat_client.errors import ChatClientError, ConnectionFailed, TimedOut
from chat_client.turn_events import TurnEvent
from chat_client.turn_progress import TurnProgress, ended_early

Reopen = Callable[[str, int], requests.Response]  # (turn id, last seq) -> the resumed stream


class TurnStream:
    """Iterates one turn's events, each once and in order, ending with its terminal event.

    When the connection drops (or closes early) the stream resumes by itself from the last
    event seen (`GET /stream/turns/<turn_id>` with `Last-Event-ID`), with backoff, a bounded
    number of times in a row; then it raises `StreamBroken` (which names the turn). A
    resume the service refuses raises its `TwirpError` (`NotFound`: the turn is gone).
    Stopping the iteration early, or `close()`, hangs up; the turn goes on on the service
    (stop it with `ChatClient.cancel_turn(stream.turn_id)`).
    """

    def __init__(
        self,
        response: requests.Response,
        progress: TurnProgress,
        *,
        reopen: Reopen,
        sleep: Callable[[float], None] = time.sleep,
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

    def __iter__(self) -> Iterator[TurnEvent]:
        return self._events

    def close(self) -> None:
        """Hangs up (the turn itself goes on)."""
        self._events.close()
        self._response.close()

    def __enter__(self) -> TurnStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> Generator[TurnEvent]:
        while True:
            error: ChatClientError
            try:
                for chunk in _chunks(self._response):
                    yield from self._progress.feed(chunk)
                    if self._progress.ended:
                        return
                error = ended_early(self.turn_id)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                error = broken(exc)
            finally:
                self._response.close()
            self._response = self._reattach(error)

    def _reattach(self, error: ChatClientError) -> requests.Response:
        while True:
            self._sleep(self._progress.retry_delay_s(error))  # raises when it is time to stop
            try:
                response = self._reopen(self._progress.turn_id, self._progress.last_seq)
            except ChatClientError as exc:
                error = exc
                continue
            self._progress.connected()
            return response


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """Yields the body's bytes as they arrive (not in fixed-size blocks)."""
    raw = response.raw
    if raw.chunked:
        yield from response.iter_content(chunk_size=None)  # one chunk as the server sent it
        return
    while chunk := raw.read1(8192):  # without chunking: whatever one read returns
        yield chunk


def broken(exc: Exception) -> ChatClientError:
    """The error of a stream whose connection failed while reading."""
    if isinstance(exc, requests.Timeout | urllib3.exceptions.ReadTimeoutError):
        return TimedOut(f"the stream went silent: {exc}")
    if isinstance(exc, requests.ConnectionError) and "Read timed out" in str(exc):
        return TimedOut(f"the stream went silent: {exc}")  # how iter_content words it
    return ConnectionFailed(f"the stream broke: {exc}", before_send=False)
