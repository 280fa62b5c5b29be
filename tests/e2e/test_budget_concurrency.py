"""64 concurrent turns through 4 uvicorn workers against a budget that covers 10: the recorded
spend stays within the budget (and within one reservation of it), also when Redis loses every
counter (FLUSHALL) while turns are in flight.

The fake provider answers every call with exactly `max_tokens` output tokens and the price
table makes input free, so each turn costs exactly its reservation (0.1 USD): the budget
admits exactly 10 turns, whatever the interleaving.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pymongo
import pytest
import redis
import requests

import migrations
from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.core.api_keys import key_digest, new_api_key
from chat_service.keys import main as keys_main
from devstack.process import free_port
from devstack.servers import RedisServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.openai_wire import Reply

ROOT = Path(__file__).resolve().parents[2]
ROUTE = "/twirp/acai.chat.ChatService/"
MAX_TOKENS = 100
TURN_USD = MAX_TOKENS * 1000 / 1e6  # 1000 USD per million output tokens: 0.1 USD a turn
TURNS, COVERED = 64, 10
SLACK_USD = TURN_USD / 2  # the budget sits between two turns' worth: no rounding at the edge
CALL_LATENCY_S = 2.0

pytestmark = pytest.mark.timeout(120)


def _answer(request):
    # Exactly the reservation: every output token the call may use, no priced input.
    return Reply("Done.", usage=(10, int(request.get("max_tokens") or MAX_TOKENS)))


@pytest.fixture(scope="module")
def stack(mongo_uri, tmp_path_factory):
    """Four workers (one uvicorn, WORKERS=4) over their own Redis, the Mongo-protocol server
    and a fake provider; yields what the test needs."""
    logs = tmp_path_factory.mktemp("budget-app")
    database_name = f"e2e_budget_conc_{uuid.uuid4().hex[:10]}"
    with (
        RedisServer(tmp_path_factory.mktemp("budget-redis")) as redis_server,
        FakeOpenAIServer(responder=_answer) as provider,
        pymongo.MongoClient(mongo_uri) as mongo,
    ):
        migrations.apply_all(mongo[database_name])
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WORKERS": "4",
            "REDIS_URL": redis_server.url,
            "MONGO_URI": mongo_uri,
            "MONGO_DATABASE": database_name,
            "OPENAI_API_KEY": "sk-test-budget",
            "OPENAI_BASE_URL": provider.url,
            "OPENAI_MODEL": "gpt-budget",
            "LLM_PROVIDERS": "openai",
            "LLM_PRICES": '{"gpt-budget": {"input": 0, "output": 1000}}',
            "REPLY_MAX_TOKENS": str(MAX_TOKENS),
            "TITLE_MAX_TOKENS": str(MAX_TOKENS),
            "BUDGET_CACHE_S": "0",
            "CACHE_TTL_HOURS": "0",
            "API_RATE_LIMIT_RPS": "0",
            "AUTH_FAILURE_LIMIT": "0",
            "RETRY_MAX_ATTEMPTS": "1",
            "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(logs / "metrics"),
        }
        env.pop("API_KEY", None)
        log = logs / "app.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "chat_service.launcher"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(url, process, log)
            environ = {"MONGO_URI": mongo_uri, "MONGO_DATABASE": database_name}
            yield {
                "url": url,
                "mongo": mongo[database_name],
                "redis": redis.Redis.from_url(redis_server.url),
                "provider": provider,
                "environ": environ,
            }
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            mongo.drop_database(database_name)


def _wait_until_healthy(url, process, log):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"app at {url} did not start:\n{log.read_text()[-2000:]}")


def _post(stack, key, method, body):
    headers = {"Authorization": f"Bearer {key}"}
    return requests.post(stack["url"] + ROUTE + method, json=body, headers=headers, timeout=60)


def _spent(stack, key) -> float:
    response = _post(stack, key, "GetUsage", {})
    assert response.status_code == 200, response.text
    return float(response.json()["total"]["cost_usd"])


def _run(stack, *, flush: bool) -> dict:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    key = new_api_key()
    MongoApiKeyStore(stack["mongo"]).add(
        digest=key_digest(key), owner=owner, name="load", now=datetime.now(UTC)
    )
    provider = stack["provider"]
    provider.latency_s = 0.0
    with ThreadPoolExecutor(max_workers=16) as pool:
        created = list(
            pool.map(
                lambda n: _post(stack, key, "StartConversation", {"message": f"topic {n}"}),
                range(TURNS),
            )
        )
    assert all(r.status_code == 200 for r in created), created[0].text
    conversations = [r.json()["conversation_id"] for r in created]
    before = _spent(stack, key)
    budget_usd = before + COVERED * TURN_USD + SLACK_USD
    assert (
        keys_main(
            ["budget", "set", "--owner", owner, "--daily", f"{budget_usd:.9f}"],
            environ=stack["environ"],
        )
        == 0
    )

    provider.latency_s = CALL_LATENCY_S  # turns overlap: the admitted ones wait on the provider
    calls_before = len(provider.requests)
    outcomes: list[str] = []
    lock = threading.Lock()

    def turn(conversation_id: str) -> None:
        response = _post(
            stack,
            key,
            "ContinueConversation",
            {"conversation_id": conversation_id, "message": "go on"},
        )
        with lock:
            if response.status_code == 200:
                outcomes.append("ok")
            elif response.json().get("meta", {}).get("reason") == "budget_exceeded":
                outcomes.append("refused")
            else:
                outcomes.append(response.text)

    in_flight_at_flush = answered_at_flush = 0
    began = time.monotonic()
    first, second = conversations[: TURNS // 2], conversations[TURNS // 2 :]
    with ThreadPoolExecutor(max_workers=TURNS) as pool:
        futures = [pool.submit(turn, c) for c in first]
        # The first half is decided once its refusals are back (fast) while the admitted
        # turns wait on the provider: then, with the flush, their counters are lost while
        # they are in flight, and the second half must be checked against the ledger.
        deadline = time.monotonic() + 10
        while len(outcomes) < len(first) - COVERED and time.monotonic() < deadline:
            time.sleep(0.01)
        if flush:
            with lock:
                answered_at_flush = outcomes.count("ok")
            in_flight_at_flush = len(provider.requests) - calls_before - answered_at_flush
            stack["redis"].flushall()
        futures += [pool.submit(turn, c) for c in second]
        for future in futures:
            future.result()
    elapsed_s = time.monotonic() - began
    spent = _spent(stack, key) - before
    return {
        "budget_usd": budget_usd - before,
        "reservation_usd": TURN_USD,
        "spent_usd": spent,
        "allowed": outcomes.count("ok"),
        "refused": outcomes.count("refused"),
        "other": [o for o in outcomes if o not in ("ok", "refused")],
        "provider_calls": len(provider.requests) - calls_before,
        "in_flight_at_flush": in_flight_at_flush,
        "answered_at_flush": answered_at_flush,
        "elapsed_s": elapsed_s,
    }


@pytest.mark.parametrize("flush", [False, True], ids=["steady", "flushall-mid-run"])
def test_concurrent_turns_stay_within_the_budget(stack, flush):
    figures = _run(stack, flush=flush)
    print(f"\nbudget concurrency ({'FLUSHALL mid-run' if flush else 'steady'}): {figures}")
    assert figures["other"] == []
    assert figures["allowed"] + figures["refused"] == TURNS
    assert figures["spent_usd"] <= figures["budget_usd"] + 1e-9
    assert figures["spent_usd"] >= figures["budget_usd"] - figures["reservation_usd"] - 1e-9
    assert figures["allowed"] == COVERED
    assert figures["provider_calls"] == COVERED  # a refused turn made no call
    if flush:
        # The flush came while admitted calls were held by the provider, before the second
        # half of the turns: those were checked against counters rebuilt from the ledger.
        assert 0 < figures["in_flight_at_flush"] <= COVERED
