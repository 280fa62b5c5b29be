"""AbandonedTransactions keeps retrying while the server does not answer, bounds what it
holds, and stops on close."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient, monitoring

from chat_service.adapters.mongo.abandoned_transactions import AbandonedTransactions
from chat_service.adapters.mongo.client import connect_mongo


@pytest.fixture
def unreachable_client() -> Iterator[MongoClient[dict[str, Any]]]:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = connect_mongo(f"mongodb://127.0.0.1:{port}", timeout_ms=100)
    yield client
    client.close()


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mongo-abandoned-transactions"]


def test_sessions_wait_while_the_server_does_not_answer_and_the_oldest_go_past_the_cap(
    unreachable_client,
) -> None:
    before = len(_threads())
    abandoned = AbandonedTransactions(
        [unreachable_client["db"]["conversations"]],
        retry_interval_s=0.01,
        attempt_timeout_s=0.1,
        max_sessions=2,
    )
    sessions = [unreachable_client.start_session() for _ in range(3)]
    for session in sessions:
        abandoned.adopt(session)
    time.sleep(0.3)  # several passes, each failing on the first session

    assert abandoned.pending() == 2
    assert [session.has_ended for session in sessions] == [True, False, False]

    abandoned.close()

    assert abandoned.pending() == 0
    assert all(session.has_ended for session in sessions)
    assert len(_threads()) == before
    late = unreachable_client.start_session()
    abandoned.adopt(late)  # after close: ended at once, no thread started again
    assert late.has_ended
    assert len(_threads()) == before


def test_nothing_runs_until_a_session_is_adopted(unreachable_client) -> None:
    before = len(_threads())
    abandoned = AbandonedTransactions([unreachable_client["db"]["conversations"]])

    assert len(_threads()) == before
    abandoned.close()


class _Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.events: list[monitoring.CommandStartedEvent] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.events.append(event)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_the_newer_transaction_reads_every_collection_then_aborts(
    mongo_uri, mongo_database_name
) -> None:
    # On a sharded cluster each read, lacking its shard key, reaches every shard holding a
    # chunk of its collection: the abort then reaches every shard the old transaction used.
    commands = _Commands()
    client = connect_mongo(mongo_uri, timeout_ms=5000, event_listeners=[commands])
    database = client[mongo_database_name]
    abandoned = AbandonedTransactions([database.conversations, database.messages])
    session = client.start_session()
    try:
        abandoned.adopt(session)
        deadline = time.monotonic() + 10
        while abandoned.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert abandoned.pending() == 0
    finally:
        abandoned.close()
        client.close()

    mine = [e for e in commands.events if e.command_name in ("find", "abortTransaction")]
    assert [(e.command_name, e.command.get("find")) for e in mine] == [
        ("find", "conversations"),
        ("find", "messages"),
        ("abortTransaction", None),
    ]
    assert len({e.command["txnNumber"] for e in mine}) == 1
