"""Redis down under budgets: an owner with a budget is refused with `unavailable` (fail closed:
its spend cannot be checked), an owner without one is served as usual; when Redis comes back
empty, the budget's counters are rebuilt from the usage ledger, not restarted at zero.

This module runs its own Redis server (the session-wide one other tests use is never stopped).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pymongo
import pytest
import requests

from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.adapters.mongo.budgets import MongoBudgetStore
from chat_service.composition.app import create_app
from chat_service.core.api_keys import key_digest, new_api_key
from chat_service.ports.budgets import Budget, BudgetScope
from devstack.servers import RedisServer
from tests.fakes.openai_wire import Reply
from tests.fakes.uvicorn_thread import serve

ROUTE = "/twirp/acai.chat.ChatService/"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("budget-outage-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def budget_app(fault_settings, own_redis, mongo_uri):
    settings = fault_settings(
        redis_url=own_redis.url,
        mongo_uri=mongo_uri,
        llm_prices='{"gpt-test": {"input": 0, "output": 1000}}',
        reply_max_tokens=100,
        title_max_tokens=100,
        budget_cache_s=0,
        retry_max_attempts=1,
    )
    keys = {"capped": new_api_key(), "free": new_api_key()}
    with pymongo.MongoClient(mongo_uri) as client:
        database = client[settings.mongo_database]
        store = MongoApiKeyStore(database)
        for owner, key in keys.items():
            store.add(digest=key_digest(key), owner=owner, name="f", now=datetime.now(UTC))
        MongoBudgetStore(database).put(
            Budget(BudgetScope.OWNER, "capped", daily_usd=0.45), now=datetime.now(UTC)
        )
        with serve(create_app(settings)) as url:
            yield url, keys


def _start(app, owner: str) -> requests.Response:
    url, keys = app
    return requests.post(
        url + ROUTE + "StartConversation",
        json={"message": f"hello from {owner}"},
        headers={"Authorization": f"Bearer {keys[owner]}"},
        timeout=30,
    )


def test_a_budgeted_owner_fails_closed_while_redis_is_down_and_resumes_from_the_ledger(
    budget_app, own_redis, fake_openai
):
    fake_openai.responder = lambda request: Reply("ok", usage=(0, 100))  # 0.1 USD a call
    assert _start(budget_app, "capped").status_code == 200  # reply + title: 0.2 of 0.45
    own_redis.stop()
    try:
        before = len(fake_openai.requests)
        refused = _start(budget_app, "capped")
        assert refused.status_code == 503
        assert refused.json()["code"] == "unavailable"
        assert "budget" in refused.json()["msg"]
        assert len(fake_openai.requests) == before
        assert _start(budget_app, "free").status_code == 200  # no budget: no check at all
    finally:
        own_redis.start()
    deadline = time.monotonic() + 20
    while (response := _start(budget_app, "capped")).status_code == 503:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    # Redis came back empty: 0.2 was rebuilt from the ledger, this turn took 0.2 more.
    assert response.status_code == 200
    refused = _start(budget_app, "capped")  # 0.4 + 0.1 > 0.45
    assert refused.status_code == 429
    assert refused.json()["meta"]["spent_usd"] == "0.4"
