"""The middleware order: the rate limit runs inside the authentication (it limits owners), the
failed-authentication limit just outside it (it refuses before a key is checked)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from chat_service.adapters.memory.auth_failures import MemoryAuthFailureLimiter
from chat_service.composition.middleware import middleware_stack
from chat_service.core.authentication import Authenticator
from chat_service.core.prices import PriceTable
from chat_service.edge.client_identity import TrustedProxies
from chat_service.edge.middleware.auth import AuthMiddleware
from chat_service.edge.middleware.auth_failures import AuthFailureLimitMiddleware
from chat_service.edge.middleware.metrics import HttpMetricsMiddleware
from chat_service.observability.metrics import Metrics
from chat_service.observability.telemetry import Telemetry


class RateLimitMarker:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _telemetry() -> Telemetry:
    return Telemetry(
        metrics=Metrics(prices=PriceTable({})), tracer=TracerProvider().get_tracer("t")
    )


def test_the_rate_limit_comes_after_auth_and_inside_the_metrics():
    telemetry = _telemetry()
    stack = middleware_stack(
        hsts_max_age_s=0,
        cors_origins=(),
        trusted_proxies=TrustedProxies.parse(""),
        route_of=lambda scope: "route",
        twirp_paths=(),
        authenticator=Authenticator(None),
        telemetry=telemetry,
        rate_limit=[Middleware(RateLimitMarker)],
    )

    classes: list[object] = [m.cls for m in stack]
    assert classes[-1] is RateLimitMarker
    assert classes.index(AuthMiddleware) == len(classes) - 2
    assert classes.index(HttpMetricsMiddleware) < classes.index(AuthMiddleware)


def test_the_failed_authentication_limit_wraps_auth_inside_the_metrics():
    stack = middleware_stack(
        hsts_max_age_s=0,
        cors_origins=(),
        trusted_proxies=TrustedProxies.parse(""),
        route_of=lambda scope: "route",
        twirp_paths=(),
        authenticator=Authenticator(None),
        telemetry=_telemetry(),
        auth_failures=MemoryAuthFailureLimiter(limit=10, window_s=60),
    )

    classes: list[object] = [m.cls for m in stack]
    position = classes.index(AuthFailureLimitMiddleware)
    assert classes[position + 1] is AuthMiddleware
    assert classes.index(HttpMetricsMiddleware) < position
