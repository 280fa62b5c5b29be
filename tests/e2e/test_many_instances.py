"""Three instances of the service, two workers each (as `python -m chat_service.launcher` runs
them in a pod), on one Redis and one MongoDB, with clients spreading their calls over them:
turn order, idempotency, sessions, rate limits and key revocation hold as on one instance.

Each part of the test is its own owner (its own API key) behind its own client address
(X-Forwarded-For from a trusted proxy: loopback), so the parts share no rate-limit bucket.
The whole module runs twice: on the session's single Redis server and on its six-node Redis
Cluster (`any_redis_url`; `-m cluster` selects the cluster run).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pymongo
import pytest
import requests
from twirp.context import Context
from twirp.exceptions import TwirpServerException

import migrations
from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.core.api_keys import key_digest, key_id, new_api_key
from devstack.process import free_port
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient

ROOT = Path(__file__).resolve().parents[2]
INSTANCES, WORKERS = 3, 2
RPS, BURST, RATE_DURATION_S = 20.0, 40, 3.0
KEY_CACHE_S = 0.5
OWNERS = ("order", "idempotent", "session", "revoked", "rate")
ROUTE = "/twirp/acai.chat.ChatService/"


@dataclass
class Fleet:
    """The instances' URLs, each owner's key and client address, and the database."""

    urls: list[str]
    keys: dict[str, str]
    database: pymongo.database.Database
    addresses: dict[str, str] = field(default_factory=dict)

    def context(self, owner: str) -> Context:
        return Context(
            headers={
                "Authorization": f"Bearer {self.keys[owner]}",
                "X-Forwarded-For": self.addresses[owner],
            }
        )

    def client(self, number: int) -> ChatServiceClient:
        return ChatServiceClient(self.urls[number % len(self.urls)], timeout=30)


def _wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"instance exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"instance at {url} did not get ready:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def fleet(any_redis_url, mongo_uri, tmp_path_factory) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("instances")
    name = f"e2e_fleet_{uuid.uuid4().hex[:12]}"
    admin = pymongo.MongoClient(mongo_uri, tz_aware=True)
    database = admin[name]
    migrations.apply_all(database)
    store = MongoApiKeyStore(database)
    keys = {owner: new_api_key() for owner in OWNERS}
    for owner, key in keys.items():
        store.add(digest=key_digest(key), owner=owner, name="fleet", now=datetime.now(UTC))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOST": "127.0.0.1",
        "WORKERS": str(WORKERS),
        "REDIS_URL": any_redis_url,
        "MONGO_URI": mongo_uri,
        "MONGO_DATABASE": name,
        "API_RATE_LIMIT_RPS": str(RPS),
        "API_RATE_LIMIT_BURST": str(BURST),
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "API_KEY_CACHE_S": str(KEY_CACHE_S),
        "AUTH_FAILURE_LIMIT": "0",
        "CACHE_TTL_HOURS": "0",
        "OPENAI_API_KEY": "",
        "ANTHROPIC_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    processes: list[subprocess.Popen] = []
    started: list[tuple[str, subprocess.Popen, Path]] = []
    try:
        for number in range(INSTANCES):
            port = free_port()
            log = work / f"instance-{number}.log"
            instance_env = {
                **env,
                "PORT": str(port),
                "PROMETHEUS_MULTIPROC_DIR": str(work / f"metrics-{number}"),
            }
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "chat_service.launcher"],
                    cwd=ROOT,
                    env=instance_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            processes.append(process)
            started.append((f"http://127.0.0.1:{port}", process, log))
        for url, process, log in started:
            _wait_until_ready(url, process, log)
        addresses = {owner: f"198.51.100.{n + 10}" for n, owner in enumerate(OWNERS)}
        yield Fleet([url for url, _, _ in started], keys, database, addresses)
    finally:
        for process in processes:
            process.terminate()  # uvicorn's supervisor stops its workers
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        admin.drop_database(name)
        admin.close()


def test_turns_on_one_conversation_from_every_instance_are_stored_whole_and_in_order(fleet):
    ctx = fleet.context("order")
    cid = (
        fleet.client(0)
        .StartConversation(ctx=ctx, request=pb.StartConversationRequest(message="kick-off"))
        .conversation_id
    )
    clients, turns = 3, 4

    def send(client: int) -> None:
        for turn in range(turns):
            # Each client's turns go to a different instance each time.
            fleet.client(client + turn).ContinueConversation(
                ctx=ctx,
                request=pb.ContinueConversationRequest(
                    conversation_id=cid, message=f"client {client} turn {turn}"
                ),
            )

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(send, range(clients)))

    messages = (
        fleet.client(1)
        .DescribeConversation(
            ctx=ctx, request=pb.DescribeConversationRequest(conversation_id=cid, page_size=100)
        )
        .conversation.messages
    )
    assert len(messages) == 2 + 2 * clients * turns
    users = [m.content for m in messages[0::2]]
    assert all(m.role == pb.Conversation.USER for m in messages[0::2])
    assert all(m.role == pb.Conversation.ASSISTANT for m in messages[1::2])
    # Each answer follows its own question (the offline model quotes it), never another's.
    for question, answer in zip(messages[0::2], messages[1::2], strict=True):
        assert question.content in answer.content
    assert sorted(users[1:]) == sorted(
        f"client {c} turn {t}" for c in range(clients) for t in range(turns)
    )
    for client in range(clients):
        mine = [u for u in users if u.startswith(f"client {client} ")]
        assert mine == [f"client {client} turn {t}" for t in range(turns)]


def test_one_idempotency_key_sent_to_every_instance_at_once_answers_once(fleet):
    ctx = fleet.context("idempotent")
    start = pb.StartConversationRequest(message="begin once", idempotency_key=uuid.uuid4().hex)
    with ThreadPoolExecutor(max_workers=6) as pool:
        starts = list(
            pool.map(lambda n: fleet.client(n).StartConversation(ctx=ctx, request=start), range(6))
        )
    assert len({s.SerializeToString() for s in starts}) == 1
    cid = starts[0].conversation_id
    again = pb.ContinueConversationRequest(
        conversation_id=cid, message="charge me once", idempotency_key=uuid.uuid4().hex
    )
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(
            pool.map(
                lambda n: fleet.client(n).ContinueConversation(ctx=ctx, request=again), range(6)
            )
        )

    assert len({r.SerializeToString() for r in replies}) == 1
    listed = fleet.client(2).ListConversations(ctx=ctx, request=pb.ListConversationsRequest())
    assert [c.id for c in listed.conversations] == [cid]
    messages = (
        fleet.client(0)
        .DescribeConversation(ctx=ctx, request=pb.DescribeConversationRequest(conversation_id=cid))
        .conversation.messages
    )
    assert [m.content for m in messages[0::2]] == ["begin once", "charge me once"]


def test_a_session_continues_on_any_instance_and_ends_for_all(fleet):
    ctx = fleet.context("session")
    chat = pb.SessionMetadata(platform="telegram", user_id="u1", chat_id=uuid.uuid4().hex)

    def say(instance: int, text: str) -> str:
        request = pb.ContinueConversationRequest(message=text, session_metadata=chat)
        return fleet.client(instance).ContinueConversation(ctx=ctx, request=request).conversation_id

    first = [say(n, f"message {n}") for n in range(INSTANCES)]
    assert len(set(first)) == 1
    ended = fleet.client(1).EndSession(ctx=ctx, request=pb.EndSessionRequest(session_metadata=chat))
    assert ended.conversation_id == first[0]
    after = [say(n, f"after {n}") for n in (2, 0, 1)]
    assert len(set(after)) == 1
    assert after[0] != first[0]


def test_a_revoked_key_is_refused_by_every_instance_within_the_key_cache_time(fleet):
    ctx = fleet.context("revoked")
    for number in range(INSTANCES):
        fleet.client(number).ListConversations(ctx=ctx, request=pb.ListConversationsRequest())

    MongoApiKeyStore(fleet.database).revoke(
        key_id(key_digest(fleet.keys["revoked"])), now=datetime.now(UTC)
    )
    revoked_at = time.monotonic()
    refused_after: dict[int, float] = {}
    codes = set()
    while len(refused_after) < INSTANCES and time.monotonic() - revoked_at < 10 * KEY_CACHE_S:
        for number in set(range(INSTANCES)) - set(refused_after):
            try:
                fleet.client(number).ListConversations(
                    ctx=ctx, request=pb.ListConversationsRequest()
                )
            except TwirpServerException as exc:
                codes.add(exc.code.value)
                refused_after[number] = time.monotonic() - revoked_at
        time.sleep(0.05)

    assert codes == {"unauthenticated"}
    assert sorted(refused_after) == list(range(INSTANCES)), refused_after
    # Every worker of every instance may have cached the key just before the revocation.
    assert max(refused_after.values()) <= KEY_CACHE_S + 1.0, refused_after


def test_the_instances_admit_one_combined_rate_for_an_owner(fleet):
    headers = {
        "Authorization": f"Bearer {fleet.keys['rate']}",
        "X-Forwarded-For": fleet.addresses["rate"],
        "Content-Type": "application/json",
    }
    admitted_by_instance = [0] * INSTANCES
    counts = {"limited": 0, "other": 0}
    lock = threading.Lock()
    order = itertools.count()
    began = time.monotonic()
    stop_at = began + RATE_DURATION_S

    def hammer() -> None:
        with requests.Session() as http:
            while time.monotonic() < stop_at:
                instance = next(order) % INSTANCES
                response = http.post(
                    fleet.urls[instance] + ROUTE + "ListConversations",
                    data=b"{}",
                    headers=headers,
                    timeout=10,
                )
                with lock:
                    if response.status_code == 200:
                        admitted_by_instance[instance] += 1
                    elif response.status_code == 429:
                        counts["limited"] += 1
                    else:
                        counts["other"] += 1
                time.sleep(0.005)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed_s = time.monotonic() - began

    admitted = sum(admitted_by_instance)
    expected = BURST + RPS * elapsed_s
    print(
        f"\nrate limit over {INSTANCES} instances x {WORKERS} workers: configured"
        f" {RPS:g}/s burst {BURST} over {elapsed_s:.2f} s = {expected:.1f} expected;"
        f" admitted {admitted} ({(admitted - expected) / expected:+.1%}),"
        f" by instance {admitted_by_instance}, refused {counts['limited']}"
    )
    assert counts["other"] == 0
    assert counts["limited"] > admitted  # the clients asked for far more than the limit
    assert all(n > 0 for n in admitted_by_instance)
    assert abs(admitted - expected) <= max(2.0, 0.04 * expected), (admitted, expected)
