"""A Redis Cluster master dies under load and its replica is elected: no acknowledged turn is
lost or stored twice, and clients see only retryable errors meanwhile.

This module runs its own six-node cluster (the session-wide one other tests use is never
stopped). Clients send every turn with an idempotency key and retry unavailable and aborted
answers (and lost connections) with the same key, as the SDK does.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
import requests

from chat_service.composition.app import create_app
from devstack.cluster import RedisCluster
from tests.e2e.conftest import ROUTE
from tests.fakes.uvicorn_thread import serve
from tests.faults.ledger import Ledger, assert_consistent, stored_user_messages

pytestmark = pytest.mark.cluster

CLIENTS = 4
TURNS_BEFORE = 3  # turns each client has had acknowledged when the master dies
TURNS_AFTER = 3  # and after the replica's election
RETRYABLE = {409: "aborted", 503: "unavailable"}


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory):
    with RedisCluster(tmp_path_factory.mktemp("failover-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster_apps(fault_settings, own_cluster, mongo_uri):
    settings = fault_settings(
        redis_url=own_cluster.url,
        mongo_uri=mongo_uri,
        cache_ttl_hours=1.0,
        api_rate_limit_rps=1000.0,  # on, so its fallback and recovery are exercised too
        api_rate_limit_burst=1000,
    )
    with serve(create_app(settings)) as first, serve(create_app(settings)) as second:
        yield [first, second], settings


@dataclass
class Seen:
    """What the clients were answered besides success, thread-safe."""

    retried: Counter[str] = field(default_factory=Counter)
    fatal: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, *, fatal: bool) -> None:
        with self._lock:
            if fatal:
                self.fatal.append(what)
            else:
                self.retried[what] += 1


def _send(url: str, method: str, body: Mapping[str, object], seen: Seen) -> dict[str, object]:
    """Posts until the service acknowledges (retrying retryable answers with the same body,
    so the same idempotency key); returns the reply, or {} after a non-retryable answer."""
    for _ in range(200):
        try:
            response = requests.post(url + ROUTE + method, json=body, timeout=30)
        except requests.ConnectionError:
            seen.add("connection lost", fatal=False)
        else:
            if response.status_code == 200:
                return dict(response.json())
            if response.status_code not in RETRYABLE:
                seen.add(f"{response.status_code} {response.text[:200]}", fatal=True)
                return {}
            seen.add(RETRYABLE[response.status_code], fatal=False)
        time.sleep(0.05)
    seen.add(f"{method} not acknowledged after 200 attempts", fatal=True)
    return {}


def test_a_master_killed_under_load_loses_and_duplicates_no_turn(
    cluster_apps, own_cluster, mongo_uri, fake_openai, caplog
):
    urls, settings = cluster_apps
    fake_openai.latency_s = 0.05  # turns are in flight when the master dies
    ledger, seen = Ledger(), Seen()
    progress = [0] * CLIENTS
    killed, stop = threading.Event(), threading.Event()
    after_kill = [0] * CLIENTS

    def client(n: int) -> None:
        url = urls[n % 2]
        first = f"client {n} starts"
        started = _send(
            url, "StartConversation", {"message": first, "idempotency_key": uuid.uuid4().hex}, seen
        )
        if not started:
            return
        cid = str(started["conversation_id"])
        ledger.ack(cid, first)
        turn = 0
        while not stop.is_set():
            message = f"client {n} turn {turn}"
            body = {"conversation_id": cid, "message": message, "idempotency_key": uuid.uuid4().hex}
            if not _send(urls[turn % 2], "ContinueConversation", body, seen):
                return
            ledger.ack(cid, message)
            turn += 1
            progress[n] = turn
            if killed.is_set():
                after_kill[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while min(progress) < TURNS_BEFORE:
        assert time.monotonic() < deadline, f"no progress before the kill: {progress}"
        time.sleep(0.02)

    victim = own_cluster.master_of_slot(0)
    victim.kill()  # SIGKILL, as a crash
    killed.set()
    began = time.monotonic()
    own_cluster.wait_for_failover(victim, timeout_s=30)
    election_s = time.monotonic() - began
    elected_at = list(after_kill)
    while min(a - e for a, e in zip(after_kill, elected_at, strict=True)) < TURNS_AFTER:
        assert time.monotonic() < deadline + 60, f"no progress after the election: {after_kill}"
        time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    stored = stored_user_messages(mongo_uri, settings.mongo_database)
    print(
        f"\nfailover ledger: acknowledged {len(ledger.acknowledged)} turns, stored "
        f"{sum(stored.values())} user messages ({len(stored)} distinct); election took "
        f"{election_s:.1f} s; retried answers {dict(seen.retried)}; fatal {seen.fatal}"
    )
    assert not seen.fatal
    outage = [r.getMessage() for r in caplog.records if r.name == "chat_service.core.availability"]
    assert "redis unavailable: using the fallbacks" in outage  # the death was felt
    assert_consistent(mongo_uri, settings.mongo_database, ledger)
    assert sum(stored.values()) == len(ledger.acknowledged)
    for url in urls:  # the app is back on the cluster, not on its fallbacks
        body = requests.get(url + "/health", timeout=10).json()
        assert body["checks"]["redis"] == "ok", body
