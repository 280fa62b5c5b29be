"""uvicorn's httptools protocol with a cap on header bytes and a deadline for the headers.

uvicorn reads a request's line and headers without a size limit (httptools buffers a 64 MB header
whole) and without a time limit (a connection that trickles half a request stays open for good).
`HeaderLimitedHttpToolsProtocol` bounds both, per request, before the app sees anything:

- more than `max_bytes` of request line and headers: 431, a Twirp `invalid_argument` body with
  meta `max_bytes`; the rest is read and dropped for a moment (so the client gets the answer,
  not a reset), then the connection is closed;
- headers not complete `timeout_s` after the connection opened (first request) or after the
  request's first byte (later ones on a keep-alive connection): 408, a Twirp `deadline_exceeded`
  body, and the connection is closed; a connection that sent nothing is closed without an answer.

It also writes a response's status line and headers together with its body when the body has a
length (every unary reply): uvicorn writes them in two sends, two TCP segments for the client
to wake up to. A streamed (chunked) response's headers still leave at once.

It takes its limits from the app's lifespan state (`HEADER_LIMITS_STATE`, which `create_app` sets
from MAX_HEADER_BYTES and HEADER_TIMEOUT_S); without them, the defaults of `HeaderLimits`. Select
it with `uvicorn --http chat_service.edge.http_protocol:HeaderLimitedHttpToolsProtocol` (the launcher
does).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from chat_service.edge.twirp import TwirpError, twirp_error_response

logger = logging.getLogger(__name__)

HEADER_LIMITS_STATE = "chat_service.header_limits"
# After a 431, how long the rest of the oversized request is read and dropped before closing:
# closing with unread bytes would reset the connection and could destroy the answer in transit.
LINGER_S = 2.0


@dataclass(frozen=True, kw_only=True)
class HeaderLimits:
    """The most bytes of request line and headers one request may send, and the seconds it
    has to send them."""

    max_bytes: int = 65_536
    timeout_s: float = 10.0


class HeaderLimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses oversized headers (431) and closes connections whose
    headers do not arrive in time (408)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = app_state.get(HEADER_LIMITS_STATE)
        self._limits = limits if isinstance(limits, HeaderLimits) else HeaderLimits()
        self._reading_headers = True  # until this request's headers are complete
        self._header_bytes = 0
        self._completed_headers = 0
        self._header_deadline: asyncio.TimerHandle | None = None
        self._dropping = False  # after a 431: the rest is read and thrown away
        self._linger: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_deadline, self._linger):
            if timer is not None:
                timer.cancel()
        self._header_deadline = self._linger = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # The parser gets no more of a request's header bytes than the limit allows; what
        # follows its headers (the body, pipelined requests) is fed once they are complete. The
        # count starts at a read: a pipelined request that begins inside the read that ended the
        # one before may get up to that read's size (at most 256 KiB) beyond the limit.
        while data and not self._dropping:
            if not self._reading_headers:
                super().data_received(data)
                return
            if self._header_deadline is None:  # a request's first byte on a kept-alive connection
                self._start_header_deadline()
            room = self._limits.max_bytes - self._header_bytes
            head, data = data[:room], data[room:]
            self._header_bytes += len(head)
            completed = self._completed_headers
            super().data_received(head)
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return  # refused as invalid, or upgraded to another protocol
            if data and self._completed_headers == completed:
                self._refuse_oversized_headers()

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._completed_headers += 1
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        earlier = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not earlier:
            _write_head_with_body(self.cycle)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_headers = True
        self._header_bytes = 0

    def _start_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(self._limits.timeout_s, self._headers_late)

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self._header_bytes:
            logger.warning(
                "request headers did not arrive in time",
                extra={"client": _address(self.client), "timeout_s": self._limits.timeout_s},
            )
            self._answer(
                TwirpError(
                    "deadline_exceeded",
                    f"the request headers did not arrive within {self._limits.timeout_s:g} s",
                )
            )
        self.transport.close()

    def _refuse_oversized_headers(self) -> None:
        limit = self._limits.max_bytes
        logger.warning(
            "request headers too large", extra={"client": _address(self.client), "max_bytes": limit}
        )
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        # HTTP's own status for it (proxies and browsers know it), the body limit's code.
        answered = self._answer(
            TwirpError(
                "invalid_argument",
                f"the request line and headers are larger than the limit of {limit} bytes",
                {"max_bytes": str(limit)},
            ),
            status=431,
        )
        if not answered or not self.transport.can_write_eof():
            self.transport.close()
            return
        # Half-close: the client reads the answer and an end of stream, then closes itself
        # (eof_received closes this side) or the linger timer does.
        self.transport.write_eof()
        self._dropping = True
        self._linger = self.loop.call_later(LINGER_S, self.transport.close)

    def _answer(self, error: TwirpError, *, status: int | None = None) -> bool:
        """Writes `error` (with `status` instead of its code's) and returns True, or returns
        False while a response to an earlier request is still being written on this connection
        (the bytes of two responses must not mix)."""
        if self.cycle is not None and not self.cycle.response_complete:
            return False
        code_status, headers, body = twirp_error_response(error)
        lines = [STATUS_LINE[status or code_status]]
        for name, value in [*self.server_state.default_headers, *headers]:
            lines += [name, b": ", value, b"\r\n"]
        lines += [b"connection: close\r\n\r\n", body]
        self.transport.write(b"".join(lines))
        return True


class _HeldHead:
    """A cycle's transport that holds the response head (written while `holding`) until the
    next write, and writes both in one call."""

    __slots__ = ("_held", "_transport", "holding")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: bytes | None = None
        self.holding = False

    def write(self, data: bytes) -> None:
        if self.holding:
            self._held = data if self._held is None else self._held + data
            return
        if self._held is not None:
            data, self._held = self._held + data, None
        self._transport.write(data)

    def flush(self) -> None:
        """Writes a held head (a response whose body wrote nothing: HEAD, an empty body)."""
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _write_head_with_body(cycle: RequestResponseCycle) -> None:
    """Makes `cycle` write its response head with the first body bytes (run_asgi reads
    `cycle.send` when it starts, after this)."""
    held = _HeldHead(cycle.transport)
    cycle.transport = held  # type: ignore[assignment]
    send = cycle.send

    async def send_head_with_body(message: ASGISendEvent) -> None:
        if message["type"] == "http.response.start":
            held.holding = True
            try:
                await send(message)
            finally:
                held.holding = False
            if cycle.chunked_encoding:  # a stream: its client waits for the head alone
                held.flush()
            return
        await send(message)
        held.flush()

    cycle.send = send_head_with_body  # type: ignore[method-assign]


def _address(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else ""
