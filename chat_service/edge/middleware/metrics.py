"""HTTP and Twirp metrics: every request, routing failures and middleware refusals included."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from chat_service.edge.middleware.response_watch import ResponseWatch
from chat_service.edge.middleware.routes import UNMATCHED, RouteLabel
from chat_service.observability.metrics import Metrics


class HttpMetricsMiddleware:
    """Counts and times requests by method, route template and status, tracks those in
    flight, and counts and times Twirp calls by service, method and code.

    A request is a Twirp call when its route is a Twirp path, or matched no route (the
    Twirp edge answers those `bad_route`) and got a Twirp answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        route_of: RouteLabel,
        twirp_paths: Collection[str],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._app = app
        self._metrics = metrics
        self._route_of = route_of
        self._twirp_paths = frozenset(twirp_paths)
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = self._clock()
        response = ResponseWatch(send)
        self._metrics.http_in_flight.inc()
        try:
            await self._app(scope, receive, response)
        finally:
            self._metrics.http_in_flight.dec()
            route = self._route_of(scope)
            seconds = self._clock() - started
            self._metrics.http_request(
                method=scope["method"], route=route, status=response.status, seconds=seconds
            )
            self._count_twirp(scope, route, response.status, seconds)

    def _count_twirp(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        state = scope.get("state", {})
        if route not in self._twirp_paths and route != UNMATCHED:
            return
        if "twirp_method" not in state and "twirp_error" not in state:
            return
        code = state.get("twirp_error") or ("ok" if status == 200 else "internal")
        if route in self._twirp_paths:  # even when a middleware answered before the edge
            service, method = route.rsplit("/", 2)[-2:]
        else:
            service, method = UNMATCHED, UNMATCHED
        self._metrics.twirp_call(service=service, method=method, code=code, seconds=seconds)
