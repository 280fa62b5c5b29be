"""A provider answering 500s and timing out: retries, then the next provider, the breaker
opens (the failing provider is no longer called), all down is `unavailable` with nothing
stored, and after the cooldown the first provider answers again.
"""

from __future__ import annotations

import time

import pytest
import requests

from chat_service.composition.app import create_app
from chat_service.config import Secret
from chat_service.core import prompts
from tests.e2e.conftest import ROUTE
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.uvicorn_thread import serve
from tests.faults.ledger import Ledger, assert_consistent, stored_user_messages

COOLDOWN_S = 1.0
BREAKER = "llm:openai:gpt-test"


@pytest.fixture(scope="module")
def claude():
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_claude(claude):
    claude.reset()
    yield
    claude.reset()


@pytest.fixture(scope="module")
def chain(fault_settings, redis_url, mongo_uri, claude):
    settings = fault_settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        llm_providers="openai,anthropic",
        anthropic_api_key=Secret("sk-ant-test"),
        anthropic_base_url=claude.url,
        anthropic_model="claude-test",
        llm_timeout_s=0.5,  # a hanging provider times out quickly
        retry_max_attempts=3,
        circuit_breaker_max_failures=2,
        circuit_breaker_cooldown_seconds=COOLDOWN_S,
    )
    app = create_app(settings)
    with serve(app) as url:
        yield url, app, settings


def _is_title(request) -> bool:
    first = request.json["messages"][0]
    return first["role"] == "system" and first["content"].startswith(prompts.TITLE_INSTRUCTION)


def _replies_asked(fake) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/completions") and not _is_title(r))


def _turn(url: str, conversation: str, message: str) -> requests.Response:
    body = {"conversation_id": conversation, "message": message}
    return requests.post(url + ROUTE + "ContinueConversation", json=body, timeout=30)


def _start(url: str) -> str:
    response = requests.post(url + ROUTE + "StartConversation", json={"message": "hi"}, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["conversation_id"])


def test_a_500_and_a_timeout_are_retried_and_the_same_provider_answers(chain, fake_openai, claude):
    url, app, _ = chain
    conversation = _start(url)
    fake_openai.reset()
    fake_openai.script(FakeOpenAIServer.error(500, "boom"), FakeOpenAIServer.hang(2.0))
    response = _turn(url, conversation, "third time lucky")
    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "echo: third time lucky"
    assert _replies_asked(fake_openai) == 3  # 500, timeout, answer
    assert claude.requests == []
    assert app.state.breaker_states()[BREAKER] == "closed"


def test_a_failing_provider_falls_back_opens_its_breaker_and_recovers(chain, fake_openai, claude):
    url, app, settings = chain
    ledger = Ledger()
    conversation = _start(url)
    fake_openai.reset()  # count only the calls below
    fake_openai.responder = lambda request: FakeOpenAIServer.error(500, "provider down")

    def turn(message: str) -> requests.Response:
        response = _turn(url, conversation, message)
        if response.status_code == 200:
            ledger.ack(conversation, message)
        return response

    for n in range(2):  # each: 3 attempts at OpenAI, then Anthropic answers
        response = turn(f"fallback {n}")
        assert response.status_code == 200, response.text
        assert response.json()["reply"] == f"claude echo: fallback {n}"
    assert _replies_asked(fake_openai) == 6
    assert app.state.breaker_states()[BREAKER] == "open"

    response = turn("skips openai")  # open: OpenAI is not called at all
    assert response.json()["reply"] == "claude echo: skips openai"
    assert _replies_asked(fake_openai) == 6

    claude.responder = lambda request: FakeAnthropicServer.error(529, "overloaded")
    mongo_uri = settings.mongo_uri
    before = stored_user_messages(mongo_uri, settings.mongo_database)
    response = turn("nobody home")
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert "openai:gpt-test: circuit open" in response.json()["msg"]
    assert stored_user_messages(mongo_uri, settings.mongo_database) == before

    fake_openai.reset()  # both providers are back
    claude.reset()
    time.sleep(COOLDOWN_S + 0.2)  # the breaker lets one probe through after its cooldown
    response = turn("back again")
    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "echo: back again"
    assert app.state.breaker_states()[BREAKER] == "closed"
    assert_consistent(mongo_uri, settings.mongo_database, ledger)
