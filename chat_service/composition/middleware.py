"""The app's middleware, in order: which concern wraps which."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from starlette.middleware import Middleware

from chat_service.core.authentication import Authenticator
from chat_service.edge.client_identity import TrustedProxies
from chat_service.edge.middleware.access_log import AccessLogMiddleware
from chat_service.edge.middleware.auth import AuthMiddleware
from chat_service.edge.middleware.auth_failures import AuthFailureLimitMiddleware
from chat_service.edge.middleware.cors import cors_middleware
from chat_service.edge.middleware.metrics import HttpMetricsMiddleware
from chat_service.edge.middleware.request_id import RequestIdMiddleware
from chat_service.edge.middleware.routes import RouteLabel
from chat_service.edge.middleware.security_headers import SecurityHeadersMiddleware
from chat_service.edge.middleware.tracing import TracingMiddleware
from chat_service.edge.web_pages import PUBLIC_PATHS, PUBLIC_PREFIXES
from chat_service.observability.telemetry import Telemetry
from chat_service.ports.auth_failures import AuthFailureLimiter

# Probes answer without a key; so do the web pages and their files (the page asks for the
# key and sends it with each call).
PROBE_PATHS = ("/health", "/ready")


def middleware_stack(
    *,
    hsts_max_age_s: int,
    cors_origins: Sequence[str],
    trusted_proxies: TrustedProxies,
    route_of: RouteLabel,
    twirp_paths: Collection[str],
    authenticator: Authenticator,
    telemetry: Telemetry,
    rate_limit: Sequence[Middleware] = (),
    auth_failures: AuthFailureLimiter | None = None,
) -> list[Middleware]:
    """Returns the middleware, outermost first: each sees what the ones inside it answer.

    `auth_failures` (chat_service.composition.shared_state) wraps the authentication, so a client address
    that sent too many wrong keys is refused before its next key is checked; `rate_limit` goes
    inside the authentication, so it limits each authenticated owner. Their refusals are
    logged, traced and counted like any answer.
    """
    public_paths = (*PROBE_PATHS, *PUBLIC_PATHS)
    failure_limit = []
    if auth_failures is not None:
        failure_limit.append(
            Middleware(
                AuthFailureLimitMiddleware,
                limiter=auth_failures,
                trusted_proxies=trusted_proxies,
                public_paths=public_paths,
                public_prefixes=PUBLIC_PREFIXES,
                on_rejected=telemetry.metrics.rate_limited,
            )
        )
    return [
        Middleware(RequestIdMiddleware),
        Middleware(TracingMiddleware, tracer=telemetry.tracer, route_of=route_of),
        Middleware(AccessLogMiddleware, route_of=route_of),
        Middleware(
            HttpMetricsMiddleware,
            metrics=telemetry.metrics,
            route_of=route_of,
            twirp_paths=twirp_paths,
        ),
        Middleware(SecurityHeadersMiddleware, hsts_max_age_s=hsts_max_age_s),
        *cors_middleware(cors_origins),
        *failure_limit,
        Middleware(
            AuthMiddleware,
            authenticator=authenticator,
            public_paths=public_paths,
            public_prefixes=PUBLIC_PREFIXES,
        ),
        *rate_limit,
    ]
