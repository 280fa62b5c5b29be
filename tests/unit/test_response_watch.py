"""ResponseWatch: what the access log, metrics and tracing middlewares read of a response."""

from __future__ import annotations

import asyncio

from starlette.types import Message

from chat_service.edge.middleware.response_watch import ResponseWatch


def _watch() -> tuple[ResponseWatch, list[Message]]:
    passed: list[Message] = []

    async def send(message: Message) -> None:
        passed.append(message)

    return ResponseWatch(send), passed


def test_it_passes_every_message_on_and_keeps_the_status_and_body_size():
    watch, passed = _watch()
    messages: list[Message] = [
        {"type": "http.response.start", "status": 201, "headers": []},
        {"type": "http.response.body", "body": b"abc", "more_body": True},
        {"type": "http.response.body", "body": b"de"},
    ]

    async def answer() -> None:
        for message in messages:
            await watch(message)

    asyncio.run(answer())
    assert passed == messages
    assert (watch.status, watch.body_bytes) == (201, 5)


def test_a_response_never_started_is_a_500_with_no_body():
    watch, passed = _watch()
    assert (watch.status, watch.body_bytes) == (500, 0)
    asyncio.run(watch({"type": "http.response.body"}))  # a body message without "body"
    assert (watch.status, watch.body_bytes) == (500, 0)
    assert passed == [{"type": "http.response.body"}]
