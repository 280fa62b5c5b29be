"""Connects to Redis (lazily: redis-py opens connections on first use)."""

from __future__ import annotations

import redis
import redis.asyncio


def connect_redis(url: str, *, timeout_s: float) -> redis.Redis:
    """Returns a client for `url` whose every call gives up after `timeout_s`."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
        client_name="chat-service",
    )


def connect_redis_async(url: str, *, timeout_s: float) -> redis.asyncio.Redis:
    """Returns an asyncio client for `url` (for the event loop: the rate limiter)."""
    return redis.asyncio.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
        client_name="chat-service",
    )
