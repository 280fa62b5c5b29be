"""GET /metrics: the Prometheus text exposition (authentication comes from the middleware)."""

from __future__ import annotations

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chat_service.observability.metrics import Metrics

PATH = "/metrics"


def metrics_route(metrics: Metrics, *, limiter: anyio.CapacityLimiter) -> Route:
    """Returns the /metrics route; rendering runs on a thread (it reads files in
    multiprocess mode and may take a few milliseconds)."""

    async def endpoint(request: Request) -> Response:
        body, content_type = await anyio.to_thread.run_sync(metrics.exposition, limiter=limiter)
        return Response(body, media_type=content_type)

    return Route(PATH, endpoint, methods=["GET"])
