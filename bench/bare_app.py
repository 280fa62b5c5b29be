"""The baseline for server CPU per turn: a bare ASGI app under the same uvicorn.

`uvicorn --factory bench.bare_app:create_app` with BARE_REPLY_BYTES set: every POST has its
JSON body read and parsed, and gets a JSON reply of exactly that many bytes. Nothing else:
no routing, validation, storage or provider, so its CPU per request is the floor any
Python handler under this server pays.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def reply_of(size: int) -> bytes:
    """Returns a JSON object of exactly `size` bytes (at least 12)."""
    skeleton = b'{"reply":""}'
    return skeleton[:-2] + b"x" * max(0, size - len(skeleton)) + skeleton[-2:]


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """Returns the ASGI app; reads BARE_REPLY_BYTES (default 200)."""
    body = reply_of(int(os.environ.get("BARE_REPLY_BYTES", "200")))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            json.loads(b"".join(chunks) or b"{}")
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
