"""Builds the streamed turns: their event log (Redis), records (MongoDB), the stream endpoints
and the turn control behind CancelTurn."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.database import Database
from starlette.routing import Route

from chat_service.adapters.mongo.turn_records import MongoTurnRecords
from chat_service.adapters.redis.client import AsyncRedis, SyncRedis, close_redis, connect_redis
from chat_service.adapters.redis.stream_slots import RedisStreamSlots
from chat_service.adapters.redis.turn_events import RedisTurnEventLog
from chat_service.config import Settings
from chat_service.core.availability import RedisAvailability
from chat_service.core.chat import Chat
from chat_service.core.turn_control import TurnControl
from chat_service.core.turn_publisher import RunningTurns
from chat_service.edge.streams.endpoint import StreamEndpoints
from chat_service.edge.streams.open_streams import OpenStreams
from chat_service.edge.streams.turn_runs import StreamTurns


@dataclass(frozen=True, slots=True)
class Streams:
    """The stream routes, the control CancelTurn uses, and the turn threads (closed at
    shutdown)."""

    routes: list[Route]
    control: TurnControl
    executor: ThreadPoolExecutor
    log: RedisTurnEventLog
    redis: SyncRedis

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.log.close_writer()
        close_redis(self.redis)


def build_streams(
    settings: Settings,
    chat: Chat,
    *,
    async_redis: AsyncRedis,
    database: Database[dict[str, Any]],
    availability: RedisAvailability,
    clock: Callable[[], datetime],
) -> Streams:
    """Returns the streamed turns' parts for `settings` (the event log with a Redis client of
    its own); turns run on RPC_THREADS threads of their own (a turn's title runs on the chat's
    executor: they never wait for each other)."""
    # A client of its own, not traced: a span per delta would cost more than the append.
    events_redis = connect_redis(settings.redis_url, timeout_s=settings.redis_timeout_s)
    log = RedisTurnEventLog(
        events_redis,
        max_events=settings.turn_events_max,
        ended_ttl_s=settings.turn_events_ttl_s,
        # A blocking read must end before the client's socket timeout does.
        block_ms=max(10, min(1000, int(settings.redis_timeout_s * 500))),
    )
    records = MongoTurnRecords(database, clock=clock)
    running = RunningTurns()
    executor = ThreadPoolExecutor(max_workers=settings.rpc_threads, thread_name_prefix="stream")
    turns = StreamTurns(
        chat,
        log=log,
        records=records,
        running=running,
        executor=executor,
        capacity=settings.stream_buffer_events,
    )
    endpoints = StreamEndpoints(
        turns,
        log=log,
        records=records,
        open_streams=OpenStreams(
            RedisStreamSlots(async_redis),
            limit=settings.max_streams_per_owner,
            availability=availability,
        ),
        max_body_bytes=settings.max_body_bytes,
        heartbeat_s=settings.stream_heartbeat_s,
    )
    return Streams(
        endpoints.routes(), TurnControl(running, log, records), executor, log, events_redis
    )
