"""The composition root: `create_app(settings)` builds every collaborator and the ASGI app.

Run it with `uvicorn --factory chat_service.app:create_app`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import anyio
import anyio.to_thread
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import migrations
from chat_service.answer_cache import CachedAnswers
from chat_service.assistant import Assistant
from chat_service.cache_stats import CacheCounters
from chat_service.chat import Chat
from chat_service.client_identity import TrustedProxies
from chat_service.config import Settings
from chat_service.health import Health, Report
from chat_service.idempotency import Idempotency
from chat_service.llm.base import ChatModel
from chat_service.llm.offline import OfflineChatModel
from chat_service.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.mongo import connect_mongo
from chat_service.mongo_idempotency import MongoIdempotencyStore
from chat_service.mongo_repository import MongoConversationRepository
from chat_service.mongo_sessions import MongoSessionStore
from chat_service.mongo_turn_lock import MongoLockBackend
from chat_service.rate_limit import RateLimitMiddleware
from chat_service.rate_limiter import MemoryRateLimiter, RedisRateLimiter
from chat_service.redis_availability import RedisAvailability
from chat_service.redis_client import connect_redis, connect_redis_async
from chat_service.redis_turn_lock import RedisLockBackend
from chat_service.response_cache import RedisResponseCache
from chat_service.service import ChatServiceHandlers, twirp_error_for
from chat_service.sessions import Sessions, SessionScope
from chat_service.turn_lock import TurnLock
from chat_service.twirp_edge import TwirpEdge
from gen.acai.chat.chat_twirp import ChatServiceServer

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_model(settings: Settings) -> ChatModel:
    """Returns the configured language model: OpenAI (or a compatible server), else offline."""
    if settings.openai_api_key or settings.openai_base_url:
        client = openai_client(
            # Local OpenAI-compatible servers often need no key, but the SDK wants one.
            api_key=settings.openai_api_key.reveal() or "unused",
            base_url=settings.openai_base_url or None,
            timeout_s=settings.llm_timeout_s,
        )
        return OpenAIChatModel(client, model=settings.openai_model)
    logger.warning("no OPENAI_API_KEY or OPENAI_BASE_URL: the offline model will answer")
    return OfflineChatModel()


def build_answers(
    settings: Settings,
    assistant: Assistant,
    redis: Redis,
    availability: RedisAvailability,
    counters: CacheCounters,
) -> CachedAnswers:
    """Returns the assistant behind the Redis response cache (CACHE_TTL_HOURS=0: no cache)."""
    ttl_s = settings.cache_ttl_hours * 3600
    cache = RedisResponseCache(
        redis,
        availability=availability,
        observer=counters,
        compute_timeout_s=2 * settings.llm_timeout_s,
    )
    return CachedAnswers(assistant, cache, ttl_s=ttl_s)


def rate_limit_middleware(
    settings: Settings, client: AsyncRedis, availability: RedisAvailability
) -> list[Middleware]:
    """Returns the rate-limit middleware (none when API_RATE_LIMIT_RPS is 0)."""
    if settings.api_rate_limit_rps <= 0:
        return []
    rps, burst = settings.api_rate_limit_rps, settings.api_rate_limit_burst
    limiter = RedisRateLimiter(
        client,
        rps=rps,
        burst=burst,
        availability=availability,
        fallback=MemoryRateLimiter(rps=rps, burst=burst),
    )
    trusted = TrustedProxies.parse(settings.trusted_proxies)
    return [Middleware(RateLimitMiddleware, limiter=limiter, trusted_proxies=trusted)]


def create_app(settings: Settings | None = None, *, model: ChatModel | None = None) -> Starlette:
    """Returns the ASGI app; `model` overrides the configured language model (for tests)."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper())
    mongo = connect_mongo(settings.mongo_uri, timeout_ms=settings.mongo_timeout_ms)
    database = mongo[settings.mongo_database]
    redis = connect_redis(settings.redis_url, timeout_s=settings.redis_timeout_s)
    async_redis = connect_redis_async(settings.redis_url, timeout_s=settings.redis_timeout_s)
    repository = MongoConversationRepository(database)
    executor = ThreadPoolExecutor(max_workers=settings.rpc_threads, thread_name_prefix="turn")
    assistant = Assistant(
        model or build_model(settings),
        reply_max_tokens=settings.reply_max_tokens,
        title_max_tokens=settings.title_max_tokens,
    )
    redis_availability = RedisAvailability()
    cache_counters = CacheCounters()
    turn_lock = TurnLock(
        RedisLockBackend(redis),
        MongoLockBackend(database, clock=_utc_now),
        availability=redis_availability,
        ttl_s=settings.turn_lock_ttl_s,
        wait_s=settings.turn_lock_wait_s,
    )
    chat = Chat(
        repository,
        assistant,
        clock=_utc_now,
        executor=executor,
        max_message_chars=settings.max_message_chars,
        history_messages=settings.history_messages,
        answers=build_answers(settings, assistant, redis, redis_availability, cache_counters),
        sessions=Sessions(
            MongoSessionStore(database),
            redis,
            availability=redis_availability,
            ttl=timedelta(minutes=settings.session_ttl_minutes),
            scope=SessionScope(settings.session_scope),
        ),
        turn_lock=turn_lock,
        idempotency=Idempotency(
            MongoIdempotencyStore(database),
            clock=_utc_now,
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
            # A repeat waits for the first: its lock wait plus its model call.
            wait_s=settings.turn_lock_wait_s + 2 * settings.llm_timeout_s,
        ),
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
            turn_lock.close()
            redis.close()
            await async_redis.aclose()
            mongo.close()

    routes = [
        Route("/health", health_endpoint, methods=["GET"]),
        Route("/ready", ready_endpoint, methods=["GET"]),
        Mount("", app=edge),
    ]
    middleware = rate_limit_middleware(settings, async_redis, redis_availability)
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    # Read by the metrics endpoint: per-process cache hits and misses by kind.
    app.state.cache_counters = cache_counters
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
