"""The Mongo-protocol server freezes (SIGSTOP) for a few seconds with turns in flight, then
thaws (SIGCONT): while frozen, RPCs answer retryable errors; once it answers again, every
conversation works within a few seconds, not after the server's transaction lifetime limit
(60 s) has aborted the transactions the service gave up on during the freeze.

This module runs its own server (the session-wide one other tests use is never stopped).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
from pymongo import monitoring

from chat_service.composition.app import create_app
from devstack.servers import MongoServer
from tests.e2e.conftest import ROUTE
from tests.fakes.uvicorn_thread import serve
from tests.faults.ledger import Ledger, assert_consistent

CLIENTS = 4
FREEZE_S = 4.0
# Longer than the freeze plus a transaction deadline, far shorter than the 60 s lifetime limit.
RECOVERY_BOUND_S = 10.0
RETRYABLE = {(503, "unavailable"), (409, "aborted")}


@pytest.fixture(scope="module")
def own_mongo(tmp_path_factory):
    server = MongoServer(tmp_path_factory.mktemp("stall-mongo"))
    server.start()
    yield server
    if server.pid is not None:
        os.kill(server.pid, signal.SIGCONT)  # never leave it frozen for kill() to wait on
    server.kill()


class FreezeBeforeTransactionWrite(monitoring.CommandListener):
    """Once armed, freezes `server` (SIGSTOP) just before the next transaction's first write
    is sent to it, so the freeze is sure to catch a transaction in flight.

    Registered for the whole process (pymongo has no per-client registration after the
    fact); it acts only when armed, and only on commands to this server's port.
    """

    def __init__(self, server: MongoServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._armed = False
        self.frozen = threading.Event()

    def arm(self) -> None:
        with self._lock:
            self._armed = True

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        # A turn's write is one bulkWrite (or findAndModify first, on servers without it).
        first_writes = ("findAndModify", "bulkWrite")
        if event.command_name not in first_writes or not event.command.get("startTransaction"):
            return
        if event.connection_id[1] != self._server.port:
            return
        with self._lock:
            if not self._armed:
                return
            self._armed = False
            assert self._server.pid is not None
            os.kill(self._server.pid, signal.SIGSTOP)
        self.frozen.set()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture(scope="module")
def freezer(own_mongo):
    listener = FreezeBeforeTransactionWrite(own_mongo)
    monitoring.register(listener)  # before the app's client is built: it copies the list
    return listener


@pytest.fixture(scope="module")
def stall_app(fault_settings, redis_url, own_mongo, freezer):
    # Transactions give up after 1 s, well within the freeze: the one caught is abandoned.
    settings = fault_settings(redis_url=redis_url, mongo_uri=own_mongo.uri, mongo_timeout_ms=1000)
    with serve(create_app(settings)) as url:
        yield url, settings


@dataclass
class Calls:
    """Each client's answers as (started, ended, status, code), monotonic times."""

    by_client: dict[int, list[tuple[float, float, int, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, client: int, started: float, status: int, code: str) -> None:
        with self.lock:
            self.by_client.setdefault(client, []).append((started, time.monotonic(), status, code))

    def successes(self, client: int) -> int:
        with self.lock:
            return sum(1 for call in self.by_client.get(client, []) if call[2] == 200)

    def first_success_after(self, client: int, moment: float) -> float | None:
        """When the first turn that started at or after `moment` succeeded, if one did."""
        with self.lock:
            calls = self.by_client.get(client, [])
            return min(
                (e for s, e, status, _ in calls if status == 200 and s >= moment), default=None
            )


def _client(url: str, number: int, calls: Calls, ledger: Ledger, stop: threading.Event) -> None:
    started = requests.post(
        url + ROUTE + "StartConversation", json={"message": f"client {number}"}, timeout=30
    )
    assert started.status_code == 200, started.text
    conversation = started.json()["conversation_id"]
    turn = 0
    while not stop.is_set():
        message = f"client {number} turn {turn}"
        turn += 1
        began = time.monotonic()
        response = requests.post(
            url + ROUTE + "ContinueConversation",
            json={"conversation_id": conversation, "message": message},
            timeout=30,
        )
        code = "" if response.status_code == 200 else response.json()["code"]
        calls.add(number, began, response.status_code, code)
        if response.status_code == 200:
            ledger.ack(conversation, message)
        else:
            ledger.refuse(message)
            time.sleep(0.05)


def test_conversations_recover_within_seconds_after_a_database_stall(stall_app, own_mongo, freezer):
    url, settings = stall_app
    calls = Calls()
    ledger = Ledger()
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(number: int) -> None:
        try:
            _client(url, number, calls, ledger, stop)
        except BaseException as exc:  # reported by the test, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        while any(calls.successes(n) < 3 for n in range(CLIENTS)):
            assert not errors, errors
            time.sleep(0.01)
        freezer.arm()
        assert freezer.frozen.wait(10), "no transaction wrote while armed"
        time.sleep(FREEZE_S)  # mid-run: every client has a turn in flight
        os.kill(own_mongo.pid, signal.SIGCONT)
        thawed = time.monotonic()
        recovered: dict[int, float] = {}
        while len(recovered) < CLIENTS and time.monotonic() < thawed + RECOVERY_BOUND_S + 5:
            assert not errors, errors
            for n in range(CLIENTS):
                done = calls.first_success_after(n, thawed)
                if done is not None:
                    recovered.setdefault(n, done - thawed)
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors, errors
    slow = {n: recovered.get(n) for n in range(CLIENTS) if recovered.get(n, 1e9) > RECOVERY_BOUND_S}
    assert not slow, f"seconds after the thaw until a turn succeeded: {recovered}, slow: {slow}"
    answers = {(status, code) for n in range(CLIENTS) for _, _, status, code in calls.by_client[n]}
    assert answers - {(200, "")} <= RETRYABLE, answers
    assert_consistent(own_mongo.uri, settings.mongo_database, ledger)
