"""Security headers on every HTTP response (errors and preflights included)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An API answers JSON and protobuf only: nothing to frame, sniff, cache or load.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeadersMiddleware:
    """Adds nosniff, frame denial, no referrer, a content security policy, `no-store` caching
    (conversations are private) and, when `hsts_max_age_s` > 0, Strict-Transport-Security.

    A header the app already set on a response is left as it is (a page that needs another
    policy sets its own).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts_max_age_s: int = 31_536_000,
        content_security_policy: str = API_CONTENT_SECURITY_POLICY,
    ) -> None:
        self._app = app
        headers = {
            b"x-content-type-options": b"nosniff",
            b"x-frame-options": b"DENY",
            b"referrer-policy": b"no-referrer",
            b"content-security-policy": content_security_policy.encode(),
            b"cache-control": b"no-store",
        }
        if hsts_max_age_s > 0:
            value = f"max-age={hsts_max_age_s}; includeSubDomains"
            headers[b"strict-transport-security"] = value.encode()
        self._headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._headers.items() if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self._app(scope, receive, send_with_headers)
