"""ResponseWatch: an ASGI `send` that remembers the status and body size of the response."""

from __future__ import annotations

from starlette.types import Message, Send


class ResponseWatch:
    """Wraps `send`: pass the watch to the app in its place, and read `status` and
    `body_bytes` once the app returns or raises.

    `status` stays 500 until the app sends `http.response.start`, so an app that fails
    before answering counts as a server error.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500
        self.body_bytes = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body_bytes += len(message.get("body", b""))
        await self._send(message)
