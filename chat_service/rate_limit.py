"""RateLimitMiddleware: per API key and per client IP limits, answered in Twirp's error shape."""

from __future__ import annotations

from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from chat_service.client_identity import TrustedProxies, api_key_digest, client_ip
from chat_service.rate_limiter import RateLimiter, retry_after_header
from chat_service.twirp_edge import TwirpError, twirp_error_response


class RateLimitMiddleware:
    """Counts every HTTP request except `exempt_paths` against the caller's API key (when it
    sends one) and its client IP; refuses it with `resource_exhausted` (429) and Retry-After
    when either bucket is empty. Auth is not checked here: a key only names a bucket."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        trusted_proxies: TrustedProxies,
        exempt_paths: Collection[str] = ("/health", "/ready", "/metrics"),
    ) -> None:
        self._app = app
        self._limiter = limiter
        self._trusted = trusted_proxies
        self._exempt = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._exempt:
            await self._app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        forwarded: list[str] = []
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "x-forwarded-for":
                forwarded.append(value)
            else:
                headers[name] = value
        peer = scope.get("client")
        buckets = [f"ip:{client_ip(peer[0] if peer else None, forwarded, self._trusted)}"]
        key = api_key_digest(headers)
        if key is not None:
            buckets.insert(0, f"key:{key}")
        decision = await self._limiter.hit(buckets)
        if decision.admitted:
            await self._app(scope, receive, send)
            return
        retry_after = retry_after_header(decision.retry_after_s)
        limit = "api_key" if decision.bucket.startswith("key:") else "client_ip"
        error = TwirpError(
            "resource_exhausted",
            "rate limit exceeded",
            {"limit": limit, "retry_after": retry_after},
        )
        status, response_headers, body = twirp_error_response(error)
        response_headers.append((b"retry-after", retry_after.encode()))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
