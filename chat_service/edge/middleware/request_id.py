"""Request ids: taken from `X-Request-Id` when sane, made up otherwise, echoed on the response."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat_service.observability.request_context import request_id

HEADER = b"x-request-id"
# Only ids that cannot smuggle anything into a log line or a header are kept.
_SANE = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


class RequestIdMiddleware:
    """Sets the request id (context variable `request_id` and `scope["state"]["request_id"]`)
    for the duration of each HTTP request and sends it back as `X-Request-Id`."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k.lower() == HEADER), b"")
        current = incoming.decode() if _SANE.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = current
        token = request_id.set(current)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != HEADER]
                message["headers"] = [*headers, (HEADER, current.encode())]
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
