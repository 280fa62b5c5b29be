"""Retries, breakers and the provider chain over the real SDKs and the fake provider servers."""

from __future__ import annotations

import pytest

from chat_service.adapters.llm.anthropic_model import AnthropicChatModel, anthropic_client
from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.adapters.llm.provider_chain import ProviderChain
from chat_service.adapters.llm.retries import RetryingChatModel, RetryPolicy, no_jitter
from chat_service.core.breakers import BreakerBoard
from chat_service.ports.chat_model import ChatMessage, ModelRejected, ModelUnavailable, PromptRole
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.openai_server import FakeOpenAIServer

HI = [ChatMessage(PromptRole.USER, "hi")]


class Sleeps(list):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def openai_server():
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="module")
def anthropic_server():
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(openai_server, anthropic_server):
    openai_server.reset()
    anthropic_server.reset()


@pytest.fixture
def openai_model(openai_server):
    client = openai_client(api_key="sk-test", base_url=openai_server.url, timeout_s=5)
    yield OpenAIChatModel(client, model="gpt-test")
    client.close()


@pytest.fixture
def anthropic_model(anthropic_server):
    client = anthropic_client(api_key="sk-ant-test", base_url=anthropic_server.url, timeout_s=5)
    yield AnthropicChatModel(client, model="claude-test")
    client.close()


def _retrying(model, sleeps, *, attempts=3):
    policy = RetryPolicy(max_attempts=attempts, base_delay_s=0.5, max_delay_s=5.0)
    return RetryingChatModel(model, policy=policy, sleep=sleeps, jitter=no_jitter)


def test_429_with_retry_after_is_retried_after_that_delay(openai_server, openai_model):
    openai_server.script(FakeOpenAIServer.error(429, "slow down", retry_after=2), "finally")
    sleeps = Sleeps()
    completion = _retrying(openai_model, sleeps).complete(HI)
    assert completion.content == "finally"
    assert sleeps == [2.0]
    assert len(openai_server.requests) == 2


def test_anthropic_retry_after_is_honoured_too(anthropic_server, anthropic_model):
    anthropic_server.script(FakeAnthropicServer.error(529, "overloaded", retry_after=1.5), "ok")
    sleeps = Sleeps()
    assert _retrying(anthropic_model, sleeps).complete(HI).content == "ok"
    assert sleeps == [1.5]


def test_400_is_not_retried(openai_server, openai_model):
    openai_server.script(FakeOpenAIServer.error(400, "bad"), "never sent")
    sleeps = Sleeps()
    with pytest.raises(ModelRejected):
        _retrying(openai_model, sleeps).complete(HI)
    assert sleeps == []
    assert len(openai_server.requests) == 1


def test_server_errors_back_off_exponentially_then_give_up(openai_server, openai_model):
    openai_server.script(*(FakeOpenAIServer.error(503, "down") for _ in range(3)), "too late")
    sleeps = Sleeps()
    with pytest.raises(ModelUnavailable, match="HTTP 503"):
        _retrying(openai_model, sleeps).complete(HI)
    assert sleeps == [0.5, 1.0]
    assert len(openai_server.requests) == 3


def test_jitter_draws_each_wait_between_zero_and_the_exponential_delay(openai_server, openai_model):
    openai_server.script(*(FakeOpenAIServer.error(500) for _ in range(3)))
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=5.0)
    model = RetryingChatModel(openai_model, policy=policy, sleep=sleeps)
    with pytest.raises(ModelUnavailable):
        model.complete(HI)
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0


def test_a_retry_after_beyond_the_maximum_delay_ends_the_retries(openai_server, openai_model):
    openai_server.script(FakeOpenAIServer.error(429, retry_after=60), "never sent")
    sleeps = Sleeps()
    with pytest.raises(ModelUnavailable) as error:
        _retrying(openai_model, sleeps).complete(HI)
    assert error.value.retry_after_s == 60
    assert sleeps == []


def test_the_breaker_opens_after_the_configured_failures_and_probes_after_the_cooldown(
    openai_server, openai_model, clock
):
    breakers = BreakerBoard(max_failures=2, cooldown_s=30, clock=clock.monotonic)
    chain = ProviderChain([_retrying(openai_model, Sleeps(), attempts=1)], breakers=breakers)
    openai_server.responder = lambda request: FakeOpenAIServer.error(503, "down")
    for _ in range(2):
        with pytest.raises(ModelUnavailable, match="HTTP 503"):
            chain.complete(HI)
    assert breakers.states() == {"llm:openai:gpt-test": "open"}
    with pytest.raises(ModelUnavailable, match=r"openai:gpt-test: circuit open"):
        chain.complete(HI)
    assert len(openai_server.requests) == 2  # the open breaker sent nothing
    clock.advance(31)
    assert breakers.states() == {"llm:openai:gpt-test": "half_open"}
    openai_server.responder = lambda request: "back"
    assert chain.complete(HI).content == "back"
    assert breakers.states() == {"llm:openai:gpt-test": "closed"}


def test_openai_down_anthropic_answers(
    openai_server, anthropic_server, openai_model, anthropic_model
):
    openai_server.responder = lambda request: FakeOpenAIServer.error(500, "down")
    anthropic_server.script("Claude here.")
    sleeps = Sleeps()
    chain = ProviderChain(
        [_retrying(openai_model, sleeps), _retrying(anthropic_model, sleeps)],
        breakers=BreakerBoard(max_failures=3, cooldown_s=30),
    )
    completion = chain.complete(HI)
    assert (completion.content, completion.model) == ("Claude here.", "claude-test")
    assert len(openai_server.requests) == 3  # its retries first
    assert len(anthropic_server.requests) == 1


def test_a_rejected_request_does_not_fall_back(
    openai_server, anthropic_server, openai_model, anthropic_model
):
    openai_server.script(FakeOpenAIServer.error(400, "bad"))
    chain = ProviderChain(
        [openai_model, anthropic_model], breakers=BreakerBoard(max_failures=3, cooldown_s=30)
    )
    with pytest.raises(ModelRejected):
        chain.complete(HI)
    assert anthropic_server.requests == []


def test_all_providers_down_is_unavailable_naming_each(
    openai_server, anthropic_server, openai_model, anthropic_model
):
    openai_server.script(FakeOpenAIServer.error(503))
    anthropic_server.script(FakeAnthropicServer.error(529))
    chain = ProviderChain(
        [openai_model, anthropic_model], breakers=BreakerBoard(max_failures=3, cooldown_s=30)
    )
    with pytest.raises(ModelUnavailable) as error:
        chain.complete(HI)
    message = str(error.value)
    assert message.startswith("no language model provider is available (")
    assert "openai:gpt-test: openai:gpt-test answered HTTP 503" in message
    assert "anthropic:claude-test: anthropic:claude-test answered HTTP 529" in message
