"""The provider chain end to end: OpenAI down, Anthropic answers; both down, `unavailable`;
the breakers as /health and /metrics report them."""

from __future__ import annotations

import uuid

import pymongo
import pytest
import requests

import migrations
from chat_service.composition.app import create_app
from chat_service.config import Secret, Settings
from tests.e2e.conftest import ROUTE
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.uvicorn_thread import serve
from tests.metrics_text import samples, value


@pytest.fixture(scope="module")
def openai_down():
    with FakeOpenAIServer(responder=lambda r: FakeOpenAIServer.error(503, "overloaded")) as server:
        yield server


@pytest.fixture(scope="module")
def claude():
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(scope="module")
def chain_url(redis_url, mongo_uri, openai_down, claude):
    settings = Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"e2e_chain_{uuid.uuid4().hex[:12]}",
        llm_providers="openai,anthropic",
        openai_api_key=Secret("sk-test"),
        openai_base_url=openai_down.url,
        openai_model="gpt-test",
        anthropic_api_key=Secret("sk-ant-test"),
        anthropic_base_url=claude.url,
        anthropic_model="claude-test",
        retry_max_attempts=2,
        retry_base_delay_ms=1,
        retry_max_delay_ms=5,
        circuit_breaker_max_failures=2,
        circuit_breaker_cooldown_seconds=600,
        llm_timeout_s=10,
    )
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        with serve(create_app(settings)) as url:
            yield url
        client.drop_database(settings.mongo_database)


def _post(url, method, body):
    return requests.post(url + ROUTE + method, json=body, timeout=30)


def test_openai_down_anthropic_answers(chain_url, openai_down, claude):
    response = _post(chain_url, "StartConversation", {"message": "Hello there"})
    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "claude echo: Hello there"
    assert any(r.json["messages"][-1]["content"] == "Hello there" for r in claude.requests)
    assert len(openai_down.requests) >= 2  # tried (with a retry) before falling back


def test_when_every_provider_is_down_the_answer_is_unavailable(chain_url, claude):
    claude.responder = lambda request: FakeAnthropicServer.error(529, "overloaded")
    try:
        response = _post(chain_url, "StartConversation", {"message": "anyone?"})
    finally:
        claude.reset()
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "unavailable"
    assert body["msg"].startswith("no language model provider is available (openai:gpt-test: ")
    assert "anthropic:claude-test: anthropic:claude-test answered HTTP 529" in body["msg"]


def test_open_breakers_show_in_health_and_metrics(chain_url):
    # Each turn calls the chain twice (reply and title): OpenAI fails both, which opens its
    # breaker (two failures, a ten-minute cooldown).
    _post(chain_url, "StartConversation", {"message": "Hello again"})
    health = requests.get(chain_url + "/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    checks = health.json()["checks"]
    assert checks["llm:openai:gpt-test"] == "down"
    claude_state = checks["llm:anthropic:claude-test"]  # down if the previous test opened it

    text = requests.get(chain_url + "/metrics", timeout=10).text
    assert value(text, "circuit_breaker_state", name="llm:openai:gpt-test") == 1
    assert value(text, "circuit_breaker_state", name="llm:anthropic:claude-test") == (
        0 if claude_state == "ok" else 1
    )
    breakers = {labels["name"] for labels, _ in samples(text, "circuit_breaker_state")}
    assert {"tool:open-meteo-geocoding", "tool:open-meteo-forecast"} <= breakers
    assert value(text, "weather_circuit_state") == 0
    assert value(text, "llm_requests_total", provider="openai", outcome="unavailable") >= 2
    assert value(text, "llm_requests_total", provider="anthropic", outcome="ok") >= 1
    assert samples(text, "dependency_up") == [
        ({"dependency": "mongodb"}, 1),
        ({"dependency": "redis"}, 1),
    ]
