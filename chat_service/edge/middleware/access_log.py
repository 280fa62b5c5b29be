"""The access log: one structured line per HTTP request, written when the response ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from chat_service.edge.middleware.response_watch import ResponseWatch
from chat_service.edge.middleware.routes import RouteLabel

logger = logging.getLogger("chat_service.access")


class AccessLogMiddleware:
    """Logs method, route, path (no query string), status, duration, Twirp method and code,
    owner and client address of every request: INFO, or ERROR for a 5xx.

    Never logs bodies or headers. A request that raises is logged as 500 and re-raised.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        route_of: RouteLabel,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._app = app
        self._route_of = route_of
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = self._clock()
        response = ResponseWatch(send)
        try:
            await self._app(scope, receive, response)
        finally:
            self._log(scope, response.status, response.body_bytes, self._clock() - started)

    def _log(self, scope: Scope, status: int, sent: int, seconds: float) -> None:
        state = scope.get("state", {})
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "route": self._route_of(scope),
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "response_bytes": sent,
            "client": client[0] if client else "",
        }
        for key in ("twirp_method", "twirp_error", "owner"):
            if key in state:
                fields[key] = state[key]
        level = logging.ERROR if status >= 500 else logging.INFO
        logger.log(level, "request", extra=fields)
