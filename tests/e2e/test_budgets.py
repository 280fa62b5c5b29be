"""Budgets end to end: a turn past its owner's or key's budget is resource_exhausted with the
budget in meta, makes no provider call and stores nothing; the keys CLI sets them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pymongo
import pytest
import requests

import migrations
from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.composition.app import create_app
from chat_service.config import Secret, Settings
from chat_service.core.api_keys import key_digest, key_id, new_api_key
from chat_service.keys import main
from tests import canaries
from tests.fakes.openai_wire import Reply
from tests.fakes.uvicorn_thread import serve

ROUTE = "/twirp/acai.chat.ChatService/"
# gpt-test's output costs 0.001 USD a token; every answer is 100 output tokens: 0.1 USD.
PRICES = '{"gpt-test": {"input": 0, "output": 1000}}'


@pytest.fixture(scope="module")
def budget_app(any_redis_url, mongo_uri, fake_openai):
    """The app with budgets, on a single Redis and then on the Redis Cluster."""
    settings = Settings(
        redis_url=any_redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"e2e_budgets_{uuid.uuid4().hex[:12]}",
        openai_api_key=Secret(canaries.OPENAI_KEY),
        openai_base_url=fake_openai.url,
        openai_model="gpt-test",
        llm_providers="openai",
        llm_prices=PRICES,
        reply_max_tokens=100,
        title_max_tokens=100,
        budget_cache_s=0,  # a budget set by the CLI applies to the next turn
        cache_ttl_hours=0,
        api_rate_limit_rps=0,
        auth_failure_limit=0,
    )
    with pymongo.MongoClient(mongo_uri) as client:
        database = client[settings.mongo_database]
        migrations.apply_all(database)
        keys = {}
        store = MongoApiKeyStore(database)
        for name in ("laptop", "phone"):
            keys[name] = new_api_key()
            store.add(digest=key_digest(keys[name]), owner="dana", name=name, now=datetime.now(UTC))
        with serve(create_app(settings)) as url:
            yield url, settings, keys, database
        client.drop_database(settings.mongo_database)


@pytest.fixture
def hundred_tokens(fake_openai):
    fake_openai.responder = lambda request: Reply("Answer.", usage=(0, 100))


def post(app, method, body, key):
    url, _, keys, _ = app
    headers = {"Authorization": f"Bearer {keys[key]}"}
    return requests.post(url + ROUTE + method, json=body, headers=headers, timeout=30)


def budget(app, *argv):
    _, settings, _, _ = app
    environ = {"MONGO_URI": settings.mongo_uri, "MONGO_DATABASE": settings.mongo_database}
    assert main(["budget", *argv], environ=environ) == 0


def conversations(app, key):
    return post(app, "ListConversations", {}, key).json()["conversations"]


def test_a_turn_past_a_key_budget_is_refused_with_the_budget_in_meta(
    budget_app, fake_openai, hundred_tokens
):
    started = post(budget_app, "StartConversation", {"message": "first"}, "laptop").json()
    assert started["usage"]["cost_usd"] == pytest.approx(0.2)  # the reply and the title
    laptop = key_id(key_digest(budget_app[2]["laptop"]))
    budget(budget_app, "set", "--key", laptop, "--daily", "0.25")
    before = len(fake_openai.requests)
    stored = len(conversations(budget_app, "laptop"))

    refused = post(budget_app, "StartConversation", {"message": "second"}, "laptop")
    assert refused.status_code == 429
    error = refused.json()
    assert error["code"] == "resource_exhausted"
    meta = error["meta"]
    assert (meta["reason"], meta["budget"], meta["period"]) == ("budget_exceeded", "key", "daily")
    assert (meta["limit_usd"], meta["spent_usd"]) == ("0.25", "0.2")
    today = datetime.now(UTC).date()
    assert meta["resets_at"].startswith(today.isoformat()[:8])
    assert meta["resets_at"].endswith("T00:00:00Z")
    assert datetime.fromisoformat(meta["resets_at"]).date() > today
    assert len(fake_openai.requests) == before  # no provider call
    assert len(conversations(budget_app, "laptop")) == stored  # nothing stored

    # The owner's other key has no budget of its own: it goes on.
    assert post(budget_app, "StartConversation", {"message": "third"}, "phone").status_code == 200
    budget(budget_app, "clear", "--key", laptop)
    assert post(budget_app, "StartConversation", {"message": "fourth"}, "laptop").status_code == 200


def test_an_owner_budget_of_zero_blocks_every_turn_and_clearing_it_unblocks(
    budget_app, fake_openai, hundred_tokens
):
    conversation = post(budget_app, "StartConversation", {"message": "hi"}, "phone").json()
    budget(budget_app, "set", "--owner", "dana", "--monthly", "0")
    before = len(fake_openai.requests)
    refused = post(
        budget_app,
        "ContinueConversation",
        {"conversation_id": conversation["conversation_id"], "message": "more"},
        "phone",
    )
    assert refused.status_code == 429
    assert (refused.json()["meta"]["budget"], refused.json()["meta"]["period"]) == (
        "owner",
        "monthly",
    )
    assert refused.json()["meta"]["resets_at"].endswith("-01T00:00:00Z")
    assert len(fake_openai.requests) == before
    described = post(
        budget_app,
        "DescribeConversation",
        {"conversation_id": conversation["conversation_id"]},
        "phone",
    ).json()
    assert len(described["conversation"]["messages"]) == 2  # the refused turn left nothing
    budget(budget_app, "clear", "--owner", "dana")
    assert post(budget_app, "StartConversation", {"message": "free"}, "phone").status_code == 200


def test_a_turn_whose_worst_case_does_not_fit_is_refused_before_the_call(
    budget_app, fake_openai, hundred_tokens
):
    # Spent 0.2 of 0.45: a Start reserves 0.1 for its reply and 0.1 for its title; the next
    # one would need 0.2 more than the 0.05 left, so its reply is refused (its title too).
    post(budget_app, "StartConversation", {"message": "warm up"}, "phone")
    spent = post(budget_app, "GetUsage", {}, "phone").json()["total"]["cost_usd"]
    budget(budget_app, "set", "--owner", "dana", "--daily", f"{spent + 0.25:.6f}")
    assert post(budget_app, "StartConversation", {"message": "fits"}, "phone").status_code == 200
    before = len(fake_openai.requests)
    refused = post(budget_app, "StartConversation", {"message": "does not fit"}, "phone")
    assert refused.status_code == 429
    assert len(fake_openai.requests) == before
    budget(budget_app, "clear", "--owner", "dana")
