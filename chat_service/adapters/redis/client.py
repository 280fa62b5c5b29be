"""Connects to Redis, a single server or a Redis Cluster (lazily: redis-py opens connections on
first use).

REDIS_URL names a single server with `redis://` or `rediss://` (TLS), and a cluster with
`redis+cluster://` or `rediss+cluster://` followed by one or more seed nodes separated by
commas: `redis+cluster://[[user]:password@]host:port[,host:port...][/0]`. The client learns the
rest of the cluster from any seed that answers, follows MOVED and ASK redirections, and after
a connection error or a failover reads the slot map again before it retries.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisClusterException
from redis.retry import Retry

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}
# Attempts of one command after a cluster error (connection lost, CLUSTERDOWN, a slot not
# covered): enough to ride over a replica's election when its master dies (each attempt first
# reads the slot map again), few enough that a lost cluster fails fast into the fallbacks.
CLUSTER_RETRY_ATTEMPTS = 3

# What a Redis call may raise when Redis (or part of a cluster) is unavailable: the cluster
# client raises RedisClusterException, outside RedisError, when it cannot reach any node or a
# slot has no master (during an election).
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)

SyncRedis = redis.Redis | redis.cluster.RedisCluster
AsyncRedis = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster


class ClusterUnreachable(redis.ConnectionError):
    """No seed node of a Redis Cluster answered when its client was built."""


@dataclass(frozen=True, slots=True)
class ClusterAddress:
    """A parsed `redis+cluster://` URL: its seed nodes, credentials and whether to use TLS."""

    seeds: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    tls: bool


def is_cluster_url(url: str) -> bool:
    """Returns True if `url` names a Redis Cluster (`redis+cluster://`, `rediss+cluster://`)."""
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def parse_cluster_url(url: str) -> ClusterAddress:
    """Returns the seeds and credentials of a `redis+cluster://` URL.

    Raises ValueError if it is not one, names no seed, a seed lacks a valid port, or it selects
    a database other than 0 (a cluster has only database 0).
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in CLUSTER_SCHEMES:
        raise ValueError("a Redis Cluster URL starts with redis+cluster:// or rediss+cluster://")
    netloc, _, path = rest.partition("/")
    path = path.split("?", 1)[0]
    if path not in ("", "0"):
        raise ValueError("a Redis Cluster has only database 0: end the URL with /0 or nothing")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    seeds = tuple(_seed(part) for part in hosts.split(",") if part.strip())
    if not seeds:
        raise ValueError("a Redis Cluster URL names at least one seed node host:port")
    return ClusterAddress(seeds, username, password, CLUSTER_SCHEMES[scheme.lower()])


def connect_redis(
    url: str, *, timeout_s: float, connection_class: type[redis.Connection] | None = None
) -> SyncRedis:
    """Returns a client for `url` (a server or a cluster) whose every call gives up after
    `timeout_s` (per attempt, on a cluster). A single server's connections are
    `connection_class` when given (the benchmarks count round trips with one).

    Raises ValueError for an unusable cluster URL and ClusterUnreachable if no seed of a
    cluster answers (a single server's client connects on first use instead).
    """
    if not is_cluster_url(url):
        extra: dict[str, Any] = {}
        if connection_class is not None:
            extra["connection_class"] = connection_class
        return redis.Redis.from_url(
            url,
            **extra,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            client_name="chat-service",
        )
    address = parse_cluster_url(url)
    try:
        # Unlike the single-server client, this one reads the slot map as it is built.
        return redis.cluster.RedisCluster(
            startup_nodes=[
                redis.cluster.ClusterNode(host, port)  # type: ignore[no-untyped-call]
                for host, port in address.seeds
            ],
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), CLUSTER_RETRY_ATTEMPTS),
            username=address.username,
            password=address.password,
            ssl=address.tls,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            client_name="chat-service",
        )
    except REDIS_ERRORS as exc:
        raise ClusterUnreachable(
            f"no seed node of the Redis Cluster in REDIS_URL answered: {exc}"
        ) from exc


def close_redis(client: SyncRedis) -> None:
    """Closes the client's connections; a cluster client's to its seed nodes too, which
    redis-py's own close leaves open until they are garbage-collected."""
    client.close()
    if isinstance(client, redis.cluster.RedisCluster):
        for node in list(client.nodes_manager.startup_nodes.values()):
            if node.redis_connection is not None:
                node.redis_connection.close()


def connect_redis_async(
    url: str,
    *,
    timeout_s: float,
    connection_class: type[redis.asyncio.Connection] | None = None,
) -> AsyncRedis:
    """Returns an asyncio client for `url` (for the event loop: the rate limiter); a single
    server's connections are `connection_class` when given."""
    if not is_cluster_url(url):
        extra: dict[str, Any] = {}
        if connection_class is not None:
            extra["connection_class"] = connection_class
        return redis.asyncio.Redis.from_url(
            url,
            **extra,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            client_name="chat-service",
        )
    address = parse_cluster_url(url)
    return redis.asyncio.cluster.RedisCluster(
        startup_nodes=[
            redis.asyncio.cluster.ClusterNode(host, port) for host, port in address.seeds
        ],
        retry=redis.asyncio.retry.Retry(
            ExponentialWithJitterBackoff(base=0.05, cap=0.5), CLUSTER_RETRY_ATTEMPTS
        ),
        username=address.username,
        password=address.password,
        ssl=address.tls,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
        client_name="chat-service",
    )


async def read_slot_map(client: AsyncRedis) -> None:
    """Makes a cluster client read the slot map now, before the first requests (no-op for a
    single server; a failure is left to the first command, which reads it again).

    redis-py's asyncio cluster client fails some of many commands started at once with
    AttributeError while it has not read the slot map yet (redis-py 8.1); read first, it does not.
    """
    if isinstance(client, redis.asyncio.cluster.RedisCluster):
        with contextlib.suppress(*REDIS_ERRORS):
            await client.initialize()


def _seed(part: str) -> tuple[str, int]:
    host, colon, port = part.strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Redis Cluster seed {part.strip()!r} is not host:port")
    return host.strip("[]"), int(port)
