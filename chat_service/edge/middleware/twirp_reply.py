"""Answering from middleware in Twirp's error shape, so every client can decode the error."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Scope, Send

from chat_service.edge.twirp import TwirpError, twirp_error_response


async def send_twirp_error(
    scope: Scope, send: Send, error: TwirpError, *, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Sends `error` as the response (JSON `{"code", "msg", "meta"}` with its HTTP status)
    plus `headers`, and records its code in `scope["state"]["twirp_error"]` for the metrics
    and the access log. Use it for every error a middleware answers (auth, rate limits)."""
    scope.setdefault("state", {})["twirp_error"] = error.code
    status, base_headers, body = twirp_error_response(error)
    await send(
        {"type": "http.response.start", "status": status, "headers": [*base_headers, *headers]}
    )
    await send({"type": "http.response.body", "body": body})
