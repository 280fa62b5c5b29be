"""Builds the service's MongoDB client; the one place that decides its options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import MongoClient, monitoring


def connect_mongo(
    uri: str,
    *,
    timeout_ms: int,
    server_selection_timeout_ms: int | None = None,
    max_pool_size: int = 400,
    event_listeners: Sequence[monitoring.CommandListener] = (),
) -> MongoClient[dict[str, Any]]:
    """Returns a lazily connecting client for `uri`; nothing touches the network yet.

    Every wait (server selection, connect, socket reads, pool checkout) is bounded by
    `timeout_ms`, so a down server surfaces as an error instead of a hang; server selection
    by `server_selection_timeout_ms` instead when given (the CLIs wait less for a server than
    for an answer). Datetimes come back timezone-aware (UTC). The pool is sized for a few
    hundred RPC threads.
    """
    return MongoClient(
        uri,
        tz_aware=True,
        appname="chat-service",
        serverSelectionTimeoutMS=(
            timeout_ms if server_selection_timeout_ms is None else server_selection_timeout_ms
        ),
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms,
        waitQueueTimeoutMS=timeout_ms,
        maxPoolSize=max_pool_size,
        event_listeners=list(event_listeners),
    )
