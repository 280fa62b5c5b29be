"""Retries and fallback around streaming adapters (real SDKs, fake servers): only before the
first delta. Once text went to `on_text`, a broken stream is final."""

from __future__ import annotations

import pytest

from chat_service.adapters.llm.anthropic_model import AnthropicChatModel, anthropic_client
from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.adapters.llm.provider_chain import ProviderChain
from chat_service.adapters.llm.retries import RetryingChatModel, RetryPolicy, no_jitter
from chat_service.core.breakers import BreakerBoard
from chat_service.ports.chat_model import ChatMessage, ModelUnavailable, PromptRole
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.openai_server import FakeOpenAIServer

HI = [ChatMessage(PromptRole.USER, "hi")]


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


def _retrying(model, sleeps):
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=5.0)
    return RetryingChatModel(model, policy=policy, sleep=sleeps.append, jitter=no_jitter)


def _chain(*models):
    return ProviderChain(list(models), breakers=BreakerBoard(max_failures=3, cooldown_s=30))


@pytest.mark.parametrize("failure", ["drop", "error"])
def test_a_stream_broken_after_a_delta_is_neither_retried_nor_handed_on(
    openai_server, anthropic_server, openai_model, anthropic_model, failure
):
    openai_server.script(
        FakeOpenAIServer.broken_stream("Hello there", after_deltas=1, failure=failure)
    )
    sleeps: list[float] = []
    chain = _chain(_retrying(openai_model, sleeps), _retrying(anthropic_model, sleeps))
    deltas: list[str] = []

    with pytest.raises(ModelUnavailable, match="openai:gpt-test"):
        chain.complete(HI, on_text=deltas.append)

    assert deltas == ["Hello"]
    assert sleeps == []
    assert len(openai_server.requests) == 1
    assert anthropic_server.requests == []


def test_anthropic_broken_after_a_delta_is_not_retried(anthropic_server, anthropic_model):
    anthropic_server.script(FakeAnthropicServer.broken_stream("a b c", after_deltas=2), "again")
    sleeps: list[float] = []
    deltas: list[str] = []

    with pytest.raises(ModelUnavailable, match="mid-stream"):
        _retrying(anthropic_model, sleeps).complete(HI, on_text=deltas.append)

    assert deltas == ["a", " b"]
    assert len(anthropic_server.requests) == 1


@pytest.mark.parametrize("failure", ["drop", "error"])
def test_a_stream_broken_before_its_first_delta_is_retried(openai_server, openai_model, failure):
    openai_server.script(
        FakeOpenAIServer.broken_stream("lost", after_deltas=0, failure=failure), "second try"
    )
    sleeps: list[float] = []
    deltas: list[str] = []

    completion = _retrying(openai_model, sleeps).complete(HI, on_text=deltas.append)

    assert completion.content == "second try"
    assert deltas == ["second", " try"]
    assert sleeps == [0.5]
    assert len(openai_server.requests) == 2


def test_a_provider_failing_before_its_first_delta_falls_back_to_the_next(
    openai_server, anthropic_server, openai_model, anthropic_model
):
    openai_server.responder = lambda request: FakeOpenAIServer.error(503, "down")
    anthropic_server.script(FakeAnthropicServer.broken_stream("x", after_deltas=0), "Claude here.")
    sleeps: list[float] = []
    chain = _chain(_retrying(openai_model, sleeps), _retrying(anthropic_model, sleeps))
    deltas: list[str] = []

    completion = chain.complete(HI, on_text=deltas.append)

    assert (completion.content, completion.model) == ("Claude here.", "claude-test")
    assert deltas == ["Claude", " here."]
    assert len(openai_server.requests) == 3  # its retries first
    assert len(anthropic_server.requests) == 2  # a broken stream without text, then an answer
