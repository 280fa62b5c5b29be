"""AuthFailureLimitMiddleware: a client address that sent too many wrong API keys is refused
before its next key is checked, so keys cannot be guessed at the speed of the network."""

from __future__ import annotations

from collections.abc import Callable, Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat_service.edge.client_identity import TrustedProxies, request_client_ip
from chat_service.edge.middleware.auth import presented_key
from chat_service.edge.middleware.rate_limit import retry_after_header
from chat_service.edge.middleware.twirp_reply import send_twirp_error
from chat_service.edge.twirp import TwirpError
from chat_service.ports.auth_failures import AuthFailureLimiter

REJECTION_SCOPE = "auth_failures"


class AuthFailureLimitMiddleware:
    """Wraps the authentication (AuthMiddleware). A request that presents a key, from a
    client address over its limit of failed authentications, is refused with
    `resource_exhausted` (429) and Retry-After before its key is looked at — a right key
    too, or the answer would tell a guesser which guess was right — and reported to
    `on_rejected("auth_failures")`. One that is answered 401 counts one failure of its
    address; a successful one is not counted.

    A request without a key guesses nothing: it passes untouched (no Redis round trip), as do
    paths in `public_paths` (exact) or under `public_prefixes`, which need no key.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: AuthFailureLimiter,
        trusted_proxies: TrustedProxies,
        public_paths: Collection[str] = ("/health", "/ready"),
        public_prefixes: Collection[str] = (),
        on_rejected: Callable[[str], None] = lambda scope: None,
    ) -> None:
        self._app = app
        self._limiter = limiter
        self._trusted = trusted_proxies
        self._public = frozenset(public_paths)
        self._public_prefixes = tuple(public_prefixes)
        self._on_rejected = on_rejected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path in self._public
            or path.startswith(self._public_prefixes)
            or presented_key(scope) is None
        ):
            await self._app(scope, receive, send)
            return
        address = request_client_ip(scope, self._trusted)
        wait_s = await self._limiter.retry_after_s(address)
        if wait_s > 0:
            self._on_rejected(REJECTION_SCOPE)
            retry_after = retry_after_header(wait_s)
            error = TwirpError(
                "resource_exhausted",
                "too many failed authentications from this address; retry later",
                {"limit": REJECTION_SCOPE, "retry_after": retry_after},
            )
            await send_twirp_error(
                scope, send, error, headers=[(b"retry-after", retry_after.encode())]
            )
            return

        async def send_counting_failures(message: Message) -> None:
            # Counted before the 401 goes out: a client that waits for each answer cannot
            # have its next guess checked before this one is counted.
            if message["type"] == "http.response.start" and message["status"] == 401:
                await self._limiter.record_failure(address)
            await send(message)

        await self._app(scope, receive, send_counting_failures)
