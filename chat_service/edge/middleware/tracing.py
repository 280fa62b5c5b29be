"""A server span per HTTP request, continuing the caller's W3C trace context (traceparent)."""

from __future__ import annotations

from collections.abc import Collection

from opentelemetry import propagate
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from starlette.types import ASGIApp, Receive, Scope, Send

from chat_service.edge.middleware.response_watch import ResponseWatch
from chat_service.edge.middleware.routes import RouteLabel


class TracingMiddleware:
    """Starts a SERVER span for each request, as a child of the caller's `traceparent`
    (any propagator of OTEL_PROPAGATORS; W3C trace context by default).

    The span is named `<METHOD> <route template>`, or `<package.Service>/<Method>` with
    the `rpc.*` attributes for a Twirp call; a 5xx marks it as an error. Requests to
    `untraced_routes` (probes, scrapes) get no span.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracer: Tracer,
        route_of: RouteLabel,
        untraced_routes: Collection[str] = ("/health", "/ready", "/metrics"),
    ) -> None:
        self._app = app
        self._tracer = tracer
        self._route_of = route_of
        self._untraced = frozenset(untraced_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        route = self._route_of(scope)
        if route in self._untraced:
            await self._app(scope, receive, send)
            return
        carrier = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        parent = propagate.extract(carrier)
        attributes = {
            "http.request.method": scope["method"],
            "http.route": route,
            "url.path": scope["path"],
        }
        if scope.get("client"):
            attributes["client.address"] = scope["client"][0]
        response = ResponseWatch(send)
        with self._tracer.start_as_current_span(
            f"{scope['method']} {route}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
        ) as span:
            try:
                await self._app(scope, receive, response)
            finally:
                span.set_attribute("http.response.status_code", response.status)
                state = scope.get("state", {})
                if "twirp_method" in state:
                    service, method = state.get("twirp_service", ""), state["twirp_method"]
                    span.update_name(f"{service}/{method}")
                    span.set_attribute("rpc.system", "twirp")
                    span.set_attribute("rpc.service", service)
                    span.set_attribute("rpc.method", method)
                if "twirp_error" in state:
                    span.set_attribute("rpc.twirp.error_code", state["twirp_error"])
                if "owner" in state:
                    span.set_attribute("enduser.id", state["owner"])
                if response.status >= 500:
                    span.set_status(StatusCode.ERROR)
