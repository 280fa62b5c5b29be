"""Builds the state that workers share through Redis (response and tool caches, sessions, turn
locks, rate limits, failed-authentication limits) and MongoDB (idempotency records), each with
its Redis-down fallback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database
from starlette.middleware import Middleware

from chat_service.adapters.memory.auth_failures import MemoryAuthFailureLimiter
from chat_service.adapters.memory.rate_limiter import MemoryRateLimiter
from chat_service.adapters.mongo.idempotency import MongoIdempotencyStore
from chat_service.adapters.mongo.sessions import MongoSessionStore
from chat_service.adapters.mongo.turn_lock import MongoLockBackend
from chat_service.adapters.redis.auth_failures import RedisAuthFailureLimiter
from chat_service.adapters.redis.cache_generations import RedisCacheGenerations, generation_key
from chat_service.adapters.redis.client import AsyncRedis, SyncRedis
from chat_service.adapters.redis.rate_limiter import RedisRateLimiter
from chat_service.adapters.redis.response_cache import RedisResponseCache
from chat_service.adapters.redis.session_cache import RedisSessionCache
from chat_service.adapters.redis.turn_lock import RedisLockBackend
from chat_service.adapters.redis.turn_round_trips import TurnRoundTrips
from chat_service.config import Settings
from chat_service.core.assistant import Assistant
from chat_service.core.availability import RedisAvailability
from chat_service.core.cache.answers import CachedAnswers, CachedCalls
from chat_service.core.cache.stats import CacheCounters, CacheObserver, CacheObservers
from chat_service.core.cache.tool_results import ToolResultCache, ToolVolatility, tool_ttls_s
from chat_service.core.idempotency import Idempotency
from chat_service.core.sessions import Sessions, SessionScope
from chat_service.core.turn_lock import TurnLock
from chat_service.edge.client_identity import TrustedProxies
from chat_service.edge.middleware.rate_limit import RateLimitMiddleware
from chat_service.observability.attribution import current_attribution
from chat_service.ports.auth_failures import AuthFailureLimiter


@dataclass(frozen=True, slots=True)
class SharedState:
    """The shared-state collaborators of one worker.

    `tool_results` goes to the tool runner (None when caching is off); `answers` puts an
    assistant behind the response cache; `middleware` is the rate limit (empty when off);
    `auth_failures` counts wrong keys per client address (None when off); `cache_counters`
    are this process's cache hits and misses, for metrics.
    """

    availability: RedisAvailability
    cache_counters: CacheCounters
    sessions: Sessions
    turn_lock: TurnLock
    idempotency: Idempotency
    middleware: list[Middleware]
    auth_failures: AuthFailureLimiter | None
    tool_results: ToolResultCache | None
    _replies: RedisResponseCache
    _generations: RedisCacheGenerations
    _ttl_s: float
    _volatility: ToolVolatility

    def answers(
        self, assistant: Assistant, *, on_cached: CachedCalls | None = None
    ) -> CachedAnswers:
        """Returns `assistant` behind the response cache (CACHE_TTL_HOURS=0: no cache); the
        model calls of answers reused from it go to `on_cached` (the usage ledger)."""
        return CachedAnswers(
            assistant,
            self._replies,
            ttl_s=self._ttl_s,
            volatility=self._volatility,
            generations=self._generations,
            **({} if on_cached is None else {"on_cached": on_cached}),
        )

    def close(self) -> None:
        """Stops renewing turn leases (at shutdown)."""
        self.turn_lock.close()


def build_shared_state(
    settings: Settings,
    *,
    redis: SyncRedis,
    async_redis: AsyncRedis,
    database: Database[dict[str, Any]],
    clock: Callable[[], datetime],
    cache_observers: Sequence[CacheObserver] = (),
    on_rate_limited: Callable[[str], None] = lambda scope: None,
) -> SharedState:
    """Returns the shared state for `settings` over these clients. Every cache lookup is
    also reported to `cache_observers` (metrics); `on_rate_limited(scope)` is called for
    each request the rate limit refuses ("key" or "ip")."""
    availability = RedisAvailability()
    counters = CacheCounters()
    observer = CacheObservers([counters, *cache_observers])
    ttl_s = settings.cache_ttl_hours * 3600
    # With the cache on, a turn's lease also reads the owner's cache generation, and the
    # reply's cache write leaves with the lease's release (see TurnRoundTrips).
    round_trips = TurnRoundTrips(_owner_generation_key if ttl_s > 0 else lambda: None)
    volatility = ToolVolatility(tool_ttls_s(calendar_ttl_s=settings.calendar_cache_ttl_s))
    replies = RedisResponseCache(
        redis,
        availability=availability,
        observer=observer,
        # A reply may take several model calls and tool rounds.
        compute_timeout_s=2 * settings.llm_timeout_s,
        round_trips=round_trips,
    )
    tool_results = None
    if ttl_s > 0:
        tool_cache = RedisResponseCache(
            redis,
            availability=availability,
            observer=observer,
            compute_timeout_s=settings.tool_timeout_s,
        )
        tool_results = ToolResultCache(
            tool_cache, volatility=volatility, max_ttl_s=ttl_s, clock=clock
        )
    return SharedState(
        availability=availability,
        cache_counters=counters,
        sessions=Sessions(
            MongoSessionStore(database),
            RedisSessionCache(redis, availability=availability),
            ttl=timedelta(minutes=settings.session_ttl_minutes),
            scope=SessionScope(settings.session_scope),
        ),
        turn_lock=TurnLock(
            RedisLockBackend(redis, round_trips=round_trips),
            MongoLockBackend(database, clock=clock),
            availability=availability,
            ttl_s=settings.turn_lock_ttl_s,
            wait_s=settings.turn_lock_wait_s,
        ),
        idempotency=Idempotency(
            MongoIdempotencyStore(database),
            clock=clock,
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
            # A repeat waits for the first: its lock wait plus its model calls.
            wait_s=settings.turn_lock_wait_s + 2 * settings.llm_timeout_s,
        ),
        middleware=rate_limit_middleware(
            settings, async_redis, availability, on_rejected=on_rate_limited
        ),
        auth_failures=auth_failure_limiter(settings, async_redis, availability),
        tool_results=tool_results,
        _replies=replies,
        _generations=RedisCacheGenerations(
            redis, availability=availability, round_trips=round_trips
        ),
        _ttl_s=ttl_s,
        _volatility=volatility,
    )


def _owner_generation_key() -> str | None:
    owner = current_attribution().owner
    return generation_key(owner) if owner else None


def rate_limit_middleware(
    settings: Settings,
    client: AsyncRedis,
    availability: RedisAvailability,
    *,
    on_rejected: Callable[[str], None] = lambda scope: None,
) -> list[Middleware]:
    """Returns the rate-limit middleware (none when API_RATE_LIMIT_RPS is 0); it goes inside
    the authentication, which names the owner it limits."""
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
    return [
        Middleware(
            RateLimitMiddleware,
            limiter=limiter,
            trusted_proxies=trusted,
            on_rejected=on_rejected,
        )
    ]


def auth_failure_limiter(
    settings: Settings, client: AsyncRedis, availability: RedisAvailability
) -> AuthFailureLimiter | None:
    """Returns the limit of failed authentications per client address, shared by all workers
    through Redis (None when AUTH_FAILURE_LIMIT is 0)."""
    if settings.auth_failure_limit <= 0:
        return None
    limit, window_s = settings.auth_failure_limit, settings.auth_failure_window_s
    return RedisAuthFailureLimiter(
        client,
        limit=limit,
        window_s=window_s,
        availability=availability,
        fallback=MemoryAuthFailureLimiter(limit=limit, window_s=window_s),
    )
