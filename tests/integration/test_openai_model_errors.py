"""OpenAIChatModel's error translation, through the real openai SDK and the fake server."""

from __future__ import annotations

import socket
import time

import openai
import pytest

from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.ports.chat_model import ChatMessage, ModelRejected, ModelUnavailable, PromptRole
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.sse_stream import Pacing

API_KEY = "sk-test-SECRETSECRETSECRET1234"


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def _model(base_url: str, *, timeout_s: float = 5.0):
    client = openai_client(api_key=API_KEY, base_url=base_url, timeout_s=timeout_s)
    return client, OpenAIChatModel(client, model="gpt-test")


@pytest.fixture
def model(server):
    client, chat_model = _model(server.url)
    yield chat_model
    client.close()


def _user(text: str) -> ChatMessage:
    return ChatMessage(PromptRole.USER, text)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_transient_statuses_are_unavailable(server, model, status):
    server.script(FakeOpenAIServer.error(status, retry_after=1))

    with pytest.raises(ModelUnavailable, match=f"HTTP {status}") as caught:
        model.complete([_user("Hi")])

    assert isinstance(caught.value.__cause__, openai.APIStatusError)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_refusals_are_rejected(server, model, status):
    server.script(FakeOpenAIServer.error(status, "This model's maximum context length is 8192"))

    with pytest.raises(ModelRejected, match="maximum context length") as caught:
        model.complete([_user("Hi")])

    assert isinstance(caught.value.__cause__, openai.APIStatusError)


def test_api_key_never_appears_in_errors(server, model):
    server.script(
        FakeOpenAIServer.error(401, f"Incorrect API key provided: {API_KEY}."),
        FakeOpenAIServer.error(500, f"upstream said {API_KEY[:12]}...{API_KEY[-4:]} failed"),
    )
    errors = []
    for _ in range(2):
        with pytest.raises((ModelRejected, ModelUnavailable)) as caught:
            model.complete([_user("Hi")])
        errors.append(caught.value)

    for error in errors:
        assert API_KEY not in str(error)
        assert API_KEY[:12] not in str(error)
        assert API_KEY not in repr(error)


def test_no_choices_is_unavailable(server, model):
    server.script(
        FakeOpenAIServer.raw(
            {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
        ),
        FakeOpenAIServer.raw({}),
    )

    for _ in range(2):
        with pytest.raises(ModelUnavailable, match="without a choice"):
            model.complete([_user("Hi")])


def test_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client, model = _model(f"http://127.0.0.1:{port}/v1")

    with client, pytest.raises(ModelUnavailable, match="unreachable") as caught:
        model.complete([_user("Hi")])

    assert isinstance(caught.value.__cause__, openai.APIConnectionError)
    assert API_KEY not in str(caught.value)


def test_timeout_is_unavailable(server):
    server.script(FakeOpenAIServer.hang(10))
    client, model = _model(server.url, timeout_s=0.5)
    started = time.monotonic()

    with client, pytest.raises(ModelUnavailable, match="timed out") as caught:
        model.complete([_user("Hi")])

    assert time.monotonic() - started < 3
    assert isinstance(caught.value.__cause__, openai.APITimeoutError)


def test_sdk_retries_are_off(server, model):
    server.script(FakeOpenAIServer.error(503), "not reached")

    with pytest.raises(ModelUnavailable):
        model.complete([_user("Hi")])

    assert len(server.requests) == 1


@pytest.mark.parametrize(("status", "error"), [(503, ModelUnavailable), (400, ModelRejected)])
def test_a_streamed_call_maps_http_errors_as_a_whole_one_does(server, model, status, error):
    server.script(FakeOpenAIServer.error(status, f"key {API_KEY} says no", retry_after=1))

    with pytest.raises(error, match=f"HTTP {status}") as caught:
        model.complete([_user("Hi")], on_text=lambda text: None)

    assert isinstance(caught.value.__cause__, openai.APIStatusError)
    assert API_KEY not in str(caught.value)


def test_a_stalled_stream_times_out(server):
    server.pacing = Pacing(token_gap_s=10)
    client, model = _model(server.url, timeout_s=0.5)
    deltas: list[str] = []

    with client, pytest.raises(ModelUnavailable, match="timed out") as caught:
        model.complete([_user("Hi there")], on_text=deltas.append)

    assert deltas == ["echo:"]
    assert isinstance(caught.value.__cause__, openai.APITimeoutError)


def test_an_error_chunk_after_every_delta_is_unavailable(server, model):
    server.script(FakeOpenAIServer.broken_stream("a b", after_deltas=2, failure="error"))

    with pytest.raises(ModelUnavailable, match="mid-stream: The server had an error"):
        model.complete([_user("Hi")], on_text=lambda text: None)
