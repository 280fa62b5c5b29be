"""The composition root: `create_app(settings)` builds every collaborator and the ASGI app.

Run it with `uvicorn --factory chat_service.app:create_app`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import migrations
from chat_service.assistant_composition import build_assistant
from chat_service.chat import Chat
from chat_service.config import Settings
from chat_service.health import Health, Report
from chat_service.llm.base import ChatModel
from chat_service.mongo import connect_mongo
from chat_service.mongo_repository import MongoConversationRepository
from chat_service.redis_client import connect_redis, connect_redis_async
from chat_service.service import ChatServiceHandlers, twirp_error_for
from chat_service.shared_state import build_shared_state
from chat_service.twirp_edge import TwirpEdge
from chat_service.web_pages import web_routes
from gen.acai.chat.chat_twirp import ChatServiceServer

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, *, model: ChatModel | None = None) -> Starlette:
    """Returns the ASGI app; `model` overrides the configured language model (for tests)."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper())
    # urllib3 logs each request's URL at DEBUG, query string (and so API keys) included.
    logging.getLogger("urllib3.connectionpool").setLevel(max(logging.INFO, logging.root.level))
    mongo = connect_mongo(settings.mongo_uri, timeout_ms=settings.mongo_timeout_ms)
    database = mongo[settings.mongo_database]
    redis = connect_redis(settings.redis_url, timeout_s=settings.redis_timeout_s)
    async_redis = connect_redis_async(settings.redis_url, timeout_s=settings.redis_timeout_s)
    repository = MongoConversationRepository(database)
    executor = ThreadPoolExecutor(max_workers=settings.rpc_threads, thread_name_prefix="turn")
    shared = build_shared_state(
        settings, redis=redis, async_redis=async_redis, database=database, clock=_utc_now
    )
    parts = build_assistant(
        settings,
        database=database,
        clock=_utc_now,
        model=model,
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
    )
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
        await anyio.to_thread.run_sync(_check_dependencies, repository, health)
        try:
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            shared.close()
            parts.close()
            redis.close()
            await async_redis.aclose()
            mongo.close()

    routes = [
        Route("/health", health_endpoint, methods=["GET"]),
        Route("/ready", ready_endpoint, methods=["GET"]),
        *web_routes(twirp_prefix=settings.twirp_prefix),
        Mount("", app=edge),
    ]
    app = Starlette(routes=routes, middleware=shared.middleware, lifespan=lifespan)
    # Read-only views for metrics and health: breaker states by name ("closed", "open",
    # "half_open"), the tools offered to the model, and this process's cache hits and
    # misses by kind.
    app.state.breaker_states = parts.breakers.states
    app.state.tool_names = parts.tools.registry.names
    app.state.cache_counters = shared.cache_counters
    return app


def _check_dependencies(repository: MongoConversationRepository, health: Health) -> None:
    """Fails start-up with a clear message when MongoDB is unreachable; warns about Redis."""
    try:
        repository.ping()
    except Exception as exc:
        raise RuntimeError(f"MongoDB is unreachable at start-up: {exc}") from exc
    report = health.health()
    if report.body.get("status") != "healthy":
        logger.warning("starting degraded", extra={"checks": report.body.get("checks")})
