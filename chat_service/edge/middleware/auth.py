"""API-key authentication: every path but the public ones needs a key once keys exist.

The key comes as `Authorization: Bearer <key>` or `X-API-Key: <key>`. A missing or wrong
key is answered `unauthenticated` (401) in Twirp's JSON shape before the body is read; a
known key puts its owner in `scope["state"]["owner"]`, which the Twirp handlers scope
every RPC to, and its id in `scope["state"]["key_id"]` (usage and budgets per key).
"""

from __future__ import annotations

from collections.abc import Collection

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from chat_service.core.api_keys import key_digest, key_id
from chat_service.core.authentication import UNKNOWN, Authenticator
from chat_service.core.errors import StorageUnavailable
from chat_service.edge.middleware.twirp_reply import send_twirp_error
from chat_service.edge.twirp import TwirpError

OWNER_STATE_KEY = "owner"
KEY_ID_STATE_KEY = "key_id"
_CHALLENGE = [(b"www-authenticate", b'Bearer realm="chat-service"')]
MISSING = TwirpError(
    "unauthenticated", "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'"
)
INVALID = TwirpError("unauthenticated", "the API key is not valid")
UNAVAILABLE = TwirpError("unavailable", "API keys cannot be checked now; retry later")


class AuthMiddleware:
    """Authenticates HTTP requests to every path outside `public_paths` (exact matches) and
    `public_prefixes` (paths starting with one, e.g. "/static/")."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        public_paths: Collection[str] = ("/health", "/ready"),
        public_prefixes: Collection[str] = (),
        limiter: anyio.CapacityLimiter | None = None,
    ) -> None:
        self._app = app
        self._authenticator = authenticator
        self._public = frozenset(public_paths)
        self._public_prefixes = tuple(public_prefixes)
        self._limiter = limiter or anyio.CapacityLimiter(16)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_public(scope["path"]):
            await self._app(scope, receive, send)
            return
        presented = presented_key(scope)
        owner = self._authenticator.cached(presented)
        if owner is UNKNOWN:
            try:
                owner = await anyio.to_thread.run_sync(
                    self._authenticator.authenticate, presented, limiter=self._limiter
                )
            except StorageUnavailable:
                await send_twirp_error(scope, send, UNAVAILABLE)
                return
        if owner is None:
            await send_twirp_error(
                scope, send, INVALID if presented else MISSING, headers=_CHALLENGE
            )
            return
        state = scope.setdefault("state", {})
        state[OWNER_STATE_KEY] = owner
        # The key's public id: usage records and key budgets name the key by it.
        state[KEY_ID_STATE_KEY] = key_id(key_digest(presented)) if presented else ""
        await self._app(scope, receive, send)

    def _is_public(self, path: str) -> bool:
        return path in self._public or path.startswith(self._public_prefixes)


def presented_key(scope: Scope) -> str | None:
    """Returns the key from `Authorization: Bearer` (preferred) or `X-API-Key`, None if neither."""
    authorization = api_key = b""
    for name, value in scope["headers"]:
        lowered = name.lower()
        if lowered == b"authorization":
            authorization = value
        elif lowered == b"x-api-key":
            api_key = value
    scheme, _, token = authorization.decode("latin-1").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = api_key.decode("latin-1").strip()
    return key or None
