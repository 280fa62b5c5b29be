"""CORS for the configured browser origins (e.g. a web page served from another host).

Starlette's CORSMiddleware (pure ASGI) does the work; this module decides its settings.
It sits in front of authentication, so a browser's preflight (OPTIONS) needs no key.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = (
    "Authorization",
    "X-API-Key",
    "Content-Type",
    "X-Request-Id",
    "traceparent",
    "tracestate",
)
PREFLIGHT_MAX_AGE_S = 600


def cors_middleware(origins: Sequence[str]) -> list[Middleware]:
    """Returns the CORS middleware for `origins` (exact `scheme://host[:port]`), or nothing
    when there are none: then browsers on other origins get no access."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=list(ALLOWED_METHODS),
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=["X-Request-Id"],
            allow_credentials=False,  # keys travel in headers, never in cookies
            max_age=PREFLIGHT_MAX_AGE_S,
        )
    ]
