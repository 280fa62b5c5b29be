"""The composition root: `create_app(settings)` builds every collaborator and the ASGI app.

Run it with `python -m chat_service.launcher`, or with uvicorn's own command as the launcher does:
`uvicorn --factory chat_service.composition.app:create_app --http
chat_service.edge.http_protocol:HeaderLimitedHttpToolsProtocol`. Without that `--http`, uvicorn
reads request headers of any size for as long as a client takes: MAX_HEADER_BYTES and
HEADER_TIMEOUT_S would not apply.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import redis.cluster
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.monitoring import CommandListener
from starlette.applications import Starlette
from starlette.routing import Mount

import migrations
from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.history_cache import HistoryCache
from chat_service.adapters.mongo.owner_settings import MongoOwnerSettingsStore
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.adapters.redis.client import (
    AsyncRedis,
    SyncRedis,
    close_redis,
    connect_redis,
    connect_redis_async,
    read_slot_map,
)
from chat_service.composition.assistant import build_assistant
from chat_service.composition.middleware import middleware_stack
from chat_service.composition.shared_state import build_shared_state
from chat_service.composition.streams import build_streams
from chat_service.composition.toolbox import WEATHER_UPSTREAMS
from chat_service.composition.usage import build_usage
from chat_service.config import Settings
from chat_service.core.api_keys import key_digest
from chat_service.core.authentication import Authenticator, StaticKey
from chat_service.core.breakers import BreakerBoard
from chat_service.core.chat import Chat
from chat_service.core.instructions import StandingInstructions
from chat_service.core.prices import PriceTable
from chat_service.core.turn_control import TurnControl
from chat_service.drain import is_draining
from chat_service.edge.client_identity import TrustedProxies
from chat_service.edge.handlers import ChatServiceHandlers, twirp_error_for
from chat_service.edge.health import Health, probe_routes
from chat_service.edge.http_protocol import HEADER_LIMITS_STATE, HeaderLimits
from chat_service.edge.middleware.routes import RouteLabels
from chat_service.edge.twirp import TwirpEdge
from chat_service.edge.web_pages import web_routes
from chat_service.observability.cache_metrics import CacheMetrics
from chat_service.observability.logs import configure_logging
from chat_service.observability.metrics import Metrics
from chat_service.observability.metrics_endpoint import metrics_route
from chat_service.observability.mongo_tracing import MongoCommandTracer
from chat_service.observability.round_trips import RoundTrips
from chat_service.observability.telemetry import Telemetry
from chat_service.observability.tracing import build_tracer_provider, records_spans
from chat_service.ports.api_keys import ApiKeyStore
from chat_service.ports.chat_model import ChatModel
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
    telemetry = build_telemetry(
        tracer_provider,
        prices=settings.price_table(),
        user_cap=settings.metrics_user_cap,
        multiprocess_dir=settings.prometheus_multiproc_dir,
    )
    stores = connect_stores(
        mongo_uri=settings.mongo_uri,
        mongo_database=settings.mongo_database,
        mongo_timeout_ms=settings.mongo_timeout_ms,
        redis_url=settings.redis_url,
        redis_timeout_s=settings.redis_timeout_s,
        telemetry=telemetry,
        tracer_provider=tracer_provider,
        round_trips=RoundTrips.from_environ(),
    )
    repository = MongoConversationRepository(
        stores.database, history=HistoryCache(max_chars=settings.history_cache_chars)
    )
    authenticator = build_authenticator(settings, MongoApiKeyStore(stores.database))
    shared = build_shared_state(
        settings,
        redis=stores.redis,
        async_redis=stores.async_redis,
        database=stores.database,
        clock=_utc_now,
        cache_observers=[CacheMetrics(telemetry.metrics)],
        on_rate_limited=telemetry.metrics.rate_limited,
    )
    usage = build_usage(
        database=stores.database,
        redis=stores.redis,
        availability=shared.availability,
        budget_cache_s=settings.budget_cache_s,
        clock=_utc_now,
    )
    parts = build_assistant(
        settings,
        database=stores.database,
        clock=_utc_now,
        model=model,
        telemetry=telemetry,
        tool_results=shared.tool_results,
        recorder=usage.recorder,
        budgets=usage.budgets,
    )
    executor = ThreadPoolExecutor(max_workers=settings.rpc_threads, thread_name_prefix="turn")
    chat = Chat(
        repository,
        shared.answers(parts.assistant, on_cached=usage.recorder.record_cached),
        clock=_utc_now,
        executor=executor,
        max_message_chars=settings.max_message_chars,
        history_messages=settings.history_messages,
        sessions=shared.sessions,
        turn_lock=shared.turn_lock,
        idempotency=shared.idempotency,
        usage=usage.ledger,
        budgets=usage.budgets,
        instructions=StandingInstructions(
            MongoOwnerSettingsStore(stores.database),
            max_chars=settings.max_instructions_chars,
            ttl_s=settings.prompt_cache_ttl_s,
        ),
    )
    streams = build_streams(
        settings,
        chat,
        async_redis=stores.async_redis,
        database=stores.database,
        availability=shared.availability,
        clock=_utc_now,
    )
    edge = build_twirp_edge(
        chat,
        streams.control,
        max_body_bytes=settings.max_body_bytes,
        threads=settings.rpc_threads,
        prefix=settings.twirp_prefix,
    )
    health = build_health(
        stores,
        repository,
        metrics=telemetry.metrics,
        breakers=parts.breakers,
        draining=functools.partial(is_draining, settings.drain_file),
    )
    probe_limiter = anyio.CapacityLimiter(4)
    routes = [
        *probe_routes(health, limiter=probe_limiter),
        metrics_route(telemetry.metrics, limiter=probe_limiter),
        *web_routes(twirp_prefix=settings.twirp_prefix),
        *streams.routes,
        Mount("", app=edge),
    ]
    middleware = middleware_stack(
        hsts_max_age_s=settings.hsts_max_age_s,
        cors_origins=settings.cors_origin_list(),
        trusted_proxies=TrustedProxies.parse(settings.trusted_proxies),
        route_of=RouteLabels(routes, twirp_paths=edge.paths()),
        twirp_paths=edge.paths(),
        authenticator=authenticator,
        telemetry=telemetry,
        rate_limit=shared.middleware,
        auth_failures=shared.auth_failures,
    )
    lifespan = _lifespan(
        starting=[
            functools.partial(_check_dependencies, repository, health),
            functools.partial(_warn_if_open, authenticator),
        ],
        closing=[
            functools.partial(executor.shutdown, wait=False, cancel_futures=True),
            streams.close,
            shared.close,
            parts.close,
            repository.close,  # before the client it uses
            stores.close,
            telemetry.metrics.close,
            tracer_provider.force_flush,
        ],
        async_starting=[functools.partial(read_slot_map, stores.async_redis)],
        async_closing=[stores.async_redis.aclose],
        # uvicorn hands the lifespan state to each connection's protocol: this is how the
        # header limits reach chat_service.edge.http_protocol.
        state={
            HEADER_LIMITS_STATE: HeaderLimits(
                max_bytes=settings.max_header_bytes, timeout_s=settings.header_timeout_s
            )
        },
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


@dataclass(frozen=True, slots=True)
class Stores:
    """The database and Redis clients of one app (Redis twice: sync for the core's threads,
    async for the middleware on the event loop)."""

    mongo: MongoClient[dict[str, Any]]
    database: Database[dict[str, Any]]
    redis: SyncRedis
    async_redis: AsyncRedis

    def close(self) -> None:
        """Closes the synchronous clients (the async one is closed on the event loop)."""
        close_redis(self.redis)
        self.mongo.close()


def connect_stores(
    *,
    mongo_uri: str,
    mongo_database: str,
    mongo_timeout_ms: int,
    redis_url: str,
    redis_timeout_s: float,
    telemetry: Telemetry,
    tracer_provider: TracerProvider,
    round_trips: RoundTrips | None = None,
) -> Stores:
    """Returns the clients of MONGO_URI and REDIS_URL, their commands traced when the
    provider records spans (and counted with `round_trips`: benchmarks only)."""
    traced = records_spans(tracer_provider)
    listeners: list[CommandListener] = [MongoCommandTracer(telemetry.tracer)] if traced else []
    if round_trips is not None:
        listeners.append(round_trips.mongo_listener)
    mongo = connect_mongo(mongo_uri, timeout_ms=mongo_timeout_ms, event_listeners=listeners)
    redis = connect_redis(
        redis_url,
        timeout_s=redis_timeout_s,
        connection_class=None if round_trips is None else round_trips.redis_connection_class,
    )
    if traced:
        trace_redis(redis, tracer_provider=tracer_provider)
    async_redis = connect_redis_async(
        redis_url,
        timeout_s=redis_timeout_s,
        connection_class=None if round_trips is None else round_trips.async_redis_connection_class,
    )
    return Stores(mongo, mongo[mongo_database], redis, async_redis)


def trace_redis(client: SyncRedis, *, tracer_provider: TracerProvider) -> None:
    """Makes each command of `client` a span. On a cluster its pipelines go untraced:
    opentelemetry-instrumentation-redis (0.66b2) wraps them as a single server's, with a method
    ClusterPipeline lacks, so every pipeline (and helpers built on one, such as a `delete()`)
    would fail."""
    RedisInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
    if isinstance(client, redis.cluster.RedisCluster):
        vars(client).pop("pipeline", None)  # the class's own method again


def build_twirp_edge(
    chat: Chat, turns: TurnControl, *, max_body_bytes: int, threads: int, prefix: str
) -> TwirpEdge:
    """Returns the Twirp endpoint serving ChatService over `chat` (and `turns`, for
    CancelTurn), at most `threads` calls running at once."""

    edge = TwirpEdge(
        max_body_bytes=max_body_bytes,
        limiter=anyio.CapacityLimiter(threads),
        translate_error=twirp_error_for,
    )
    handlers = ChatServiceHandlers(chat, turns)
    edge.add_service(ChatServiceServer(service=handlers, server_path_prefix=prefix))
    return edge


def build_health(
    stores: Stores,
    repository: MongoConversationRepository,
    *,
    metrics: Metrics,
    breakers: BreakerBoard,
    draining: Callable[[], bool] = lambda: False,
) -> Health:
    """Returns /health's and /ready's checks: the stores, migrations, the breakers, and
    whether the instance drains."""
    database = stores.database
    health = Health(
        mongodb=repository.ping,
        redis=stores.redis.ping,
        pending_migrations=lambda: [m.name for m in migrations.pending(database)],
        clock=_utc_now,
        on_check=metrics.dependency_checked,
        draining=draining,
    )
    watch_breakers(breakers, metrics=metrics, health=health)
    return health


GC_THRESHOLDS = (20_000, 20, 20)  # young, middle, old (the interpreter's: 700, 10, 10)


def _lifespan(
    *,
    starting: Sequence[Callable[[], object]],
    async_starting: Sequence[Callable[[], Awaitable[object]]] = (),
    closing: Sequence[Callable[[], object]],
    async_closing: Sequence[Callable[[], Awaitable[object]]],
    state: Mapping[str, object],
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[Mapping[str, object]]]:
    """Runs `starting` on a thread and `async_starting` on the loop before serving, then serves
    with `state` as the lifespan state; runs `closing` always, even after a failed start-up, so
    that the clients are closed."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, object]]:
        try:
            for step in starting:
                await anyio.to_thread.run_sync(step)
            for async_step in async_starting:
                await async_step()
            # What start-up built (modules, clients, the app: a few hundred thousand objects)
            # lives as long as the app. Frozen, the cyclic collector no longer walks it: a
            # full collection took ~150 ms with 64 streams open, and stopped every one.
            gc.freeze()
            # A turn allocates a few thousand short-lived objects: at the default 700 the
            # young generation was collected every few deltas and promoted what a turn still
            # held, so the older generations were collected too (a pause of ~2 ms each).
            previous = gc.get_threshold()
            gc.set_threshold(*GC_THRESHOLDS)
            yield state
        finally:
            if "previous" in locals():
                gc.set_threshold(*previous)
            gc.unfreeze()  # what the app held can be collected again once it has stopped
            for close in closing:
                close()
            for aclose in async_closing:
                await aclose()

    return lifespan


def build_telemetry(
    tracer_provider: TracerProvider,
    *,
    prices: PriceTable,
    user_cap: int,
    multiprocess_dir: str,
) -> Telemetry:
    """Returns the app's metrics (own registry) and tracer."""
    metrics = Metrics(
        prices=prices,
        user_cap=user_cap,
        multiprocess_dir=multiprocess_dir,
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
    """Asks at start-up whether the service runs open, so that it says so loudly at once (the
    authenticator logs the warning)."""
    try:
        authenticator.is_open()
    except Exception:
        return  # MongoDB trouble was reported already; the first request will ask again


def _check_dependencies(repository: MongoConversationRepository, health: Health) -> None:
    """Fails start-up with a clear message when MongoDB is unreachable; warns about Redis."""
    try:
        repository.ping()
    except Exception as exc:
        raise RuntimeError(f"MongoDB is unreachable at start-up: {exc}") from exc
    report = health.health()
    if report.body.get("status") != "healthy":
        logger.warning("starting degraded", extra={"checks": report.body.get("checks")})
