"""The Mongo-protocol server stops mid-run and comes back: RPCs fail fast with `unavailable`,
/ready says 503 then 200, nothing is half-written, the app recovers without a restart, and
every turn acknowledged to a client is stored exactly once.

This module runs its own server (the session-wide one other tests use is never stopped).
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from chat_service.composition.app import create_app
from devstack.servers import MongoServer
from tests.e2e.conftest import ROUTE
from tests.fakes.uvicorn_thread import serve
from tests.faults.ledger import Ledger, assert_consistent, stored_user_messages

CLIENTS = 3


@pytest.fixture(scope="module")
def own_mongo(tmp_path_factory):
    server = MongoServer(tmp_path_factory.mktemp("outage-mongo"))
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def outage_app(fault_settings, redis_url, own_mongo):
    # A short timeout: while the server is down every RPC answers within about a second.
    settings = fault_settings(redis_url=redis_url, mongo_uri=own_mongo.uri, mongo_timeout_ms=800)
    with serve(create_app(settings)) as url:
        yield url, settings


def _post(url: str, method: str, body: dict) -> requests.Response:
    return requests.post(url + ROUTE + method, json=body, timeout=30)


def _wait_for(url: str, path: str, status: int) -> None:
    deadline = time.monotonic() + 30
    while requests.get(url + path, timeout=10).status_code != status:
        assert time.monotonic() < deadline, f"{path} never answered {status}"
        time.sleep(0.05)


def _client(url: str, number: int, ledger: Ledger, stop: threading.Event) -> None:
    """Keeps one conversation going; starts it again whenever starting it was refused."""
    conversation = ""
    turn = 0
    while not stop.is_set():
        message = f"client {number} turn {turn}"
        turn += 1
        if conversation:
            response = _post(
                url, "ContinueConversation", {"conversation_id": conversation, "message": message}
            )
        else:
            response = _post(url, "StartConversation", {"message": message})
        if response.status_code == 200:
            conversation = conversation or response.json()["conversation_id"]
            ledger.ack(conversation, message)
        else:
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "unavailable"
            ledger.refuse(message)
            time.sleep(0.02)


def test_a_mongo_outage_fails_fast_writes_nothing_half_and_recovers(outage_app, own_mongo):
    url, settings = outage_app
    ledger = Ledger()
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(number: int) -> None:
        try:
            _client(url, number, ledger, stop)
        except BaseException as exc:  # reported by the test, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        while len(ledger.acknowledged) < 3 * CLIENTS:
            assert not errors, errors
            time.sleep(0.01)
        own_mongo.stop()  # mid-run: turns are in flight
        _wait_for(url, "/ready", 503)
        assert requests.get(url + "/health", timeout=10).json()["status"] == "unhealthy"
        refused_before = len(ledger.refused)
        while len(ledger.refused) < refused_before + 2 * CLIENTS:
            assert not errors, errors
            time.sleep(0.01)
        acknowledged_during = len(ledger.acknowledged)
        own_mongo.start()  # same data directory: what was committed is back
        _wait_for(url, "/ready", 200)
        while len(ledger.acknowledged) < acknowledged_during + 3 * CLIENTS:
            assert not errors, errors
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors, errors
    assert len(ledger.refused) >= 2 * CLIENTS
    assert_consistent(own_mongo.uri, settings.mongo_database, ledger)


def test_during_the_outage_reads_are_unavailable_too_and_nothing_is_written(outage_app, own_mongo):
    url, settings = outage_app
    started = _post(url, "StartConversation", {"message": "before the outage"})
    assert started.status_code == 200
    conversation = started.json()["conversation_id"]
    before = stored_user_messages(own_mongo.uri, settings.mongo_database)
    own_mongo.stop()
    try:
        for method, body in [
            ("ContinueConversation", {"conversation_id": conversation, "message": "lost?"}),
            ("StartConversation", {"message": "new while down"}),
            ("DescribeConversation", {"conversation_id": conversation}),
            ("ListConversations", {}),
        ]:
            response = _post(url, method, body)
            assert (response.status_code, response.json()["code"]) == (503, "unavailable"), method
    finally:
        own_mongo.start()
    _wait_for(url, "/ready", 200)
    assert stored_user_messages(own_mongo.uri, settings.mongo_database) == before
    again = _post(
        url,
        "ContinueConversation",
        {"conversation_id": conversation, "message": "after the outage"},
    )
    assert again.status_code == 200, again.text
