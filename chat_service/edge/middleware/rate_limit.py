"""RateLimitMiddleware: per owner (API key) and per client IP limits, answered in Twirp's
error shape."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from chat_service.edge.client_identity import TrustedProxies, api_key_digest, request_client_ip
from chat_service.edge.middleware.auth import OWNER_STATE_KEY
from chat_service.edge.middleware.twirp_reply import send_twirp_error
from chat_service.edge.twirp import TwirpError
from chat_service.ports.rate_limiter import RateLimiter


class RateLimitMiddleware:
    """Counts every HTTP request except `exempt_paths` against the caller's owner (when it
    sends an API key) and its client IP; refuses it with `resource_exhausted` (429) and
    Retry-After when either bucket is empty, and reports the refusal to
    `on_rejected(scope)` with scope "key" or "ip".

    It runs inside the authentication: a request that sent a key has its owner in
    `scope["state"]["owner"]`, and every key of that owner shares one bucket. Without an owner
    (public paths), the key's digest names the bucket; keys are not checked here.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        trusted_proxies: TrustedProxies,
        exempt_paths: Collection[str] = ("/health", "/ready", "/metrics"),
        on_rejected: Callable[[str], None] = lambda scope: None,
    ) -> None:
        self._app = app
        self._limiter = limiter
        self._trusted = trusted_proxies
        self._exempt = frozenset(exempt_paths)
        self._on_rejected = on_rejected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._exempt:
            await self._app(scope, receive, send)
            return
        decision = await self._limiter.hit(self._buckets(scope))
        if decision.admitted:
            await self._app(scope, receive, send)
            return
        retry_after = retry_after_header(decision.retry_after_s)
        by_key = decision.bucket.startswith(("owner:", "key:"))
        self._on_rejected("key" if by_key else "ip")
        error = TwirpError(
            "resource_exhausted",
            "rate limit exceeded",
            {"limit": "api_key" if by_key else "client_ip", "retry_after": retry_after},
        )
        await send_twirp_error(scope, send, error, headers=[(b"retry-after", retry_after.encode())])

    def _buckets(self, scope: Scope) -> list[str]:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        buckets = [f"ip:{request_client_ip(scope, self._trusted)}"]
        key = api_key_digest(headers)
        if key is not None:
            # Without a key every caller is the same open-service owner: the IP limit is theirs.
            owner = scope.get("state", {}).get(OWNER_STATE_KEY)
            buckets.insert(0, f"owner:{owner}" if owner else f"key:{key}")
        return buckets


def retry_after_header(seconds: float) -> str:
    """Returns a Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
