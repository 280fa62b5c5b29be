"""Connects to Redis (lazily: redis-py opens connections on first use)."""

from __future__ import annotations

import redis


def connect_redis(url: str, *, timeout_s: float) -> redis.Redis:
    """Returns a client for `url` whose every call gives up after `timeout_s`."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
        client_name="chat-service",
    )
