"""The composition root: `create_app(settings)` builds every collaborator and the ASGI app.

Run it with `uvicorn --factory chat_service.app:create_app`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import migrations
from chat_service.api_keys import ApiKeyStore, key_digest
from chat_service.assistant_composition import build_assistant
from chat_service.authentication import Authenticator, StaticKey
from chat_service.breakers import BreakerBoard
from chat_service.chat import Chat
from chat_service.config import Settings
from chat_service.health import Health, Report
from chat_service.llm.base import ChatModel
from chat_service.middleware.routes import RouteLabels
from chat_service.middleware.stack import middleware_stack
from chat_service.mongo import connect_mongo
from chat_service.mongo_api_keys import MongoApiKeyStore
from chat_service.mongo_repository import MongoConversationRepository
from chat_service.observability.cache_metrics import CacheMetrics
from chat_service.observability.logs import configure_logging
from chat_service.observability.metrics import Metrics
from chat_service.observability.metrics_endpoint import metrics_route
from chat_service.observability.mongo_tracing import MongoCommandTracer
from chat_service.observability.prices import PriceTable
from chat_service.observability.telemetry import Telemetry
from chat_service.observability.tracing import build_tracer_provider
from chat_service.redis_client import connect_redis, connect_redis_async
from chat_service.service import ChatServiceHandlers, twirp_error_for
from chat_service.shared_state import build_shared_state
from chat_service.toolbox import WEATHER_UPSTREAMS
from chat_service.twirp_edge import TwirpEdge
from chat_service.web_pages import web_routes
from gen.acai.chat.chat_twirp import ChatServiceServer

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings | None = None,
    *,
    model: ChatModel | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """Returns the ASGI app; `model` overrides the configured language model and
    `tracer_provider` the one built from the OTEL_* settings (both for tests)."""
    settings = settings or Settings.from_env()
    configure_logging(level=settings.log_level, secrets=_secrets(settings))
    tracer_provider = tracer_provider or build_tracer_provider(
        service_name=settings.otel_service_name,
        otlp_endpoint=settings.otel_exporter_otlp_traces_endpoint
        or settings.otel_exporter_otlp_endpoint,
        disabled=settings.otel_sdk_disabled,
    )
    telemetry = build_telemetry(settings, tracer_provider)
    mongo = connect_mongo(
        settings.mongo_uri,
        timeout_ms=settings.mongo_timeout_ms,
        event_listeners=[MongoCommandTracer(telemetry.tracer)],
    )
    database = mongo[settings.mongo_database]
    redis = connect_redis(settings.redis_url, timeout_s=settings.redis_timeout_s)
    RedisInstrumentor.instrument_client(redis, tracer_provider=tracer_provider)
    async_redis = connect_redis_async(settings.redis_url, timeout_s=settings.redis_timeout_s)
    repository = MongoConversationRepository(database)
    authenticator = build_authenticator(settings, MongoApiKeyStore(database))
    executor = ThreadPoolExecutor(max_workers=settings.rpc_threads, thread_name_prefix="turn")
    shared = build_shared_state(
        settings,
        redis=redis,
        async_redis=async_redis,
        database=database,
        clock=_utc_now,
        cache_observers=[CacheMetrics(telemetry.metrics)],
        on_rate_limited=telemetry.metrics.rate_limited,
    )
    parts = build_assistant(
        settings,
        database=database,
        clock=_utc_now,
        model=model,
        telemetry=telemetry,
        tool_results=shared.tool_results,
    )
    chat = Chat(
        repository,
        parts.assistant,
        clock=_utc_now,
        executor=executor,
        max_message_chars=settings.max_message_chars,
        history_messages=settings.history_messages,
        answers=shared.answers(parts.assistant),
        sessions=shared.sessions,
        turn_lock=shared.turn_lock,
        idempotency=shared.idempotency,
    )
    edge = TwirpEdge(
        max_body_bytes=settings.max_body_bytes,
        limiter=anyio.CapacityLimiter(settings.rpc_threads),
        translate_error=twirp_error_for,
    )
    handlers = ChatServiceHandlers(chat)
    edge.add_service(ChatServiceServer(service=handlers, server_path_prefix=settings.twirp_prefix))
    health = Health(
        mongodb=repository.ping,
        redis=redis.ping,
        pending_migrations=lambda: [m.name for m in migrations.pending(database)],
        clock=_utc_now,
        on_check=telemetry.metrics.dependency_checked,
    )
    watch_breakers(parts.breakers, metrics=telemetry.metrics, health=health)
    probe_limiter = anyio.CapacityLimiter(4)

    async def respond(report_of: Callable[[], Report]) -> JSONResponse:
        report = await anyio.to_thread.run_sync(report_of, limiter=probe_limiter)
        return JSONResponse(report.body, status_code=report.status_code)

    async def health_endpoint(request: Request) -> JSONResponse:
        return await respond(health.health)

    async def ready_endpoint(request: Request) -> JSONResponse:
        return await respond(health.ready)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:  # a failed start-up closes the clients too
            await anyio.to_thread.run_sync(_check_dependencies, repository, health)
            await anyio.to_thread.run_sync(_warn_if_open, authenticator)
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            shared.close()
            parts.close()
            redis.close()
            await async_redis.aclose()
            mongo.close()
            telemetry.metrics.close()
            tracer_provider.force_flush()

    routes = [
        Route("/health", health_endpoint, methods=["GET"]),
        Route("/ready", ready_endpoint, methods=["GET"]),
        metrics_route(telemetry.metrics, limiter=probe_limiter),
        *web_routes(twirp_prefix=settings.twirp_prefix),
        Mount("", app=edge),
    ]
    route_of = RouteLabels(routes, twirp_paths=edge.paths())
    middleware = middleware_stack(
        settings,
        route_of=route_of,
        twirp_paths=edge.paths(),
        authenticator=authenticator,
        telemetry=telemetry,
        rate_limit=shared.middleware,
    )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.telemetry = telemetry  # the hooks, for code that extends the app
    app.state.health = health  # health.watch_breaker(name, state_of) for more dependencies
    # Read-only views for metrics and health: breaker states by name ("closed", "open",
    # "half_open"), the tools offered to the model, and this process's cache hits and
    # misses by kind.
    app.state.breaker_states = parts.breakers.states
    app.state.tool_names = parts.tools.registry.names
    app.state.cache_counters = shared.cache_counters
    return app


def build_telemetry(settings: Settings, tracer_provider: TracerProvider) -> Telemetry:
    """Returns the app's metrics (own registry) and tracer."""
    metrics = Metrics(
        prices=PriceTable.from_json(settings.llm_prices),
        user_cap=settings.metrics_user_cap,
        multiprocess_dir=settings.prometheus_multiproc_dir,
        weather_breakers=[f"tool:{name}" for name in WEATHER_UPSTREAMS],
    )
    return Telemetry(metrics=metrics, tracer=tracer_provider.get_tracer("chat_service"))


def watch_breakers(board: BreakerBoard, *, metrics: Metrics, health: Health) -> None:
    """Reports the circuit breakers: every one in `circuit_breaker_state`, and each language
    model provider's ("llm:...") in /health."""
    board.add_listener(metrics.set_breaker_state)
    metrics.watch_breakers(board.states)
    for name in board.states():
        if name.startswith("llm:"):
            health.watch_breaker(name, functools.partial(board.state, name))


def build_authenticator(settings: Settings, store: ApiKeyStore) -> Authenticator:
    """Returns the authenticator of API_KEY (if set) and the keys in `store`."""
    static = None
    if settings.api_key:
        static = StaticKey(key_digest(settings.api_key.reveal()), settings.api_key_owner.strip())
    return Authenticator(
        store,
        static_key=static,
        require_key=settings.require_api_key,
        cache_ttl_s=settings.api_key_cache_s,
    )


def _secrets(settings: Settings) -> list[str]:
    """Returns the configured secrets, for the logs to redact wherever they appear."""
    passwords = [urlsplit(url).password for url in (settings.mongo_uri, settings.redis_url)]
    keys = (
        settings.openai_api_key,
        settings.anthropic_api_key,
        settings.weather_api_key,
        settings.api_key,
    )
    return [*(k.reveal() for k in keys if k), *(p for p in passwords if p)]


def _warn_if_open(authenticator: Authenticator) -> None:
    """Says loudly when the service runs without API keys (anyone may call it)."""
    try:
        is_open = authenticator.is_open()
    except Exception:
        return  # MongoDB trouble was reported already; requests will answer `unavailable`
    if is_open:
        logger.warning(
            "SECURITY WARNING: no API key is configured, so every request is served as owner "
            "'anonymous' without authentication. Fine on a laptop, never on a network: set "
            "API_KEY or run `python -m chat_service.keys create --owner NAME`."
        )


def _check_dependencies(repository: MongoConversationRepository, health: Health) -> None:
    """Fails start-up with a clear message when MongoDB is unreachable; warns about Redis."""
    try:
        repository.ping()
    except Exception as exc:
        raise RuntimeError(f"MongoDB is unreachable at start-up: {exc}") from exc
    report = health.health()
    if report.body.get("status") != "healthy":
        logger.warning("starting degraded", extra={"checks": report.body.get("checks")})
