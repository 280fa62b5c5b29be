"""The response head leaves with the body when the body has a length (one write, not two),
and at once when the response is streamed."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from chat_service.edge.http_protocol import _write_head_with_body


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def _cycle(transport: RecordingTransport, method: str = "POST") -> RequestResponseCycle:
    scope: Any = {"type": "http", "method": method, "path": "/", "headers": []}
    cycle = RequestResponseCycle(
        scope=scope,
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=lambda: None,
    )
    _write_head_with_body(cycle)
    return cycle


def _start(*headers: tuple[bytes, bytes]) -> Any:
    return {"type": "http.response.start", "status": 200, "headers": list(headers)}


def test_a_reply_with_a_length_is_written_once_head_and_body_together() -> None:
    transport = RecordingTransport()
    cycle = _cycle(transport)

    async def respond() -> None:
        await cycle.send(_start((b"content-length", b"5")))
        assert transport.writes == []  # held for the body
        await cycle.send({"type": "http.response.body", "body": b"hello"})

    asyncio.run(respond())
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\nhello")
    assert cycle.response_complete


def test_a_streamed_reply_sends_its_head_at_once_and_each_chunk_as_it_comes() -> None:
    transport = RecordingTransport()
    cycle = _cycle(transport)

    async def respond() -> None:
        await cycle.send(_start((b"content-type", b"text/event-stream")))
        assert len(transport.writes) == 1
        assert transport.writes[0].endswith(b"\r\n\r\n")
        await cycle.send({"type": "http.response.body", "body": b"a", "more_body": True})
        await cycle.send({"type": "http.response.body", "body": b""})

    asyncio.run(respond())
    assert transport.writes[1:] == [b"1\r\na\r\n", b"0\r\n\r\n"]


def test_a_head_request_still_gets_its_head() -> None:
    transport = RecordingTransport()
    cycle = _cycle(transport, method="HEAD")

    async def respond() -> None:
        await cycle.send(_start((b"content-length", b"5")))
        await cycle.send({"type": "http.response.body", "body": b"hello"})

    asyncio.run(respond())
    assert len(transport.writes) == 1
    assert transport.writes[0].endswith(b"content-length: 5\r\n\r\n")


def test_a_body_longer_than_its_length_writes_nothing_of_the_reply() -> None:
    transport = RecordingTransport()
    cycle = _cycle(transport)

    async def respond() -> None:
        await cycle.send(_start((b"content-length", b"1")))
        await cycle.send({"type": "http.response.body", "body": b"too long"})

    try:
        asyncio.run(respond())
    except RuntimeError:
        pass
    else:
        raise AssertionError("uvicorn accepted a body longer than its content-length")
    assert transport.writes == []
