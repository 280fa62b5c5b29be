"""AbandonedTransactions keeps retrying while the server does not answer, bounds what it
holds, and stops on close."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient

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
        unreachable_client["db"]["conversations"],
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
    abandoned = AbandonedTransactions(unreachable_client["db"]["conversations"])

    assert len(_threads()) == before
    abandoned.close()
