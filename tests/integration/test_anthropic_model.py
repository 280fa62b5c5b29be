"""AnthropicChatModel through the real anthropic SDK against the fake Messages API server."""

from __future__ import annotations

import json
import socket

import anthropic
import httpx2
import pytest

from chat_service.adapters.llm.anthropic_model import AnthropicChatModel, anthropic_client
from chat_service.ports.chat_model import (
    ChatMessage,
    ModelRejected,
    ModelUnavailable,
    PromptRole,
    ToolCall,
    ToolSpec,
    Usage,
)
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.sse_stream import Pacing

API_KEY = "sk-ant-test-SECRETSECRET123456"
WEATHER = ToolSpec(
    "get_weather",
    "Weather for a place.",
    {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
)


@pytest.fixture(scope="module")
def server():
    with FakeAnthropicServer() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _reset(server):
    server.reset()


@pytest.fixture
def model(server):
    client = anthropic_client(api_key=API_KEY, base_url=server.url, timeout_s=5.0)
    yield AnthropicChatModel(client, model="claude-test")
    client.close()


def _msg(role: PromptRole, text: str = "", **kwargs) -> ChatMessage:
    return ChatMessage(role, text, **kwargs)


def test_text_reply_with_the_system_prompt_apart(server, model):
    server.script(FakeAnthropicServer.text("Hola!"))
    completion = model.complete(
        [
            _msg(PromptRole.SYSTEM, "be brief"),
            _msg(PromptRole.SYSTEM, "summary"),
            _msg(PromptRole.USER, "hi"),
        ],
        max_tokens=77,
    )
    assert (completion.content, completion.tool_calls, completion.usage) == (
        "Hola!",
        (),
        Usage(10, 5),
    )
    assert completion.model == "claude-test"
    request = server.requests[-1]
    assert API_KEY in (
        request.headers.get("x-api-key"),
        request.headers.get("authorization", "")[7:],
    )
    assert request.json["system"] == "be brief\n\nsummary"
    assert request.json["messages"] == [{"role": "user", "content": "hi"}]
    assert request.json["max_tokens"] == 77
    assert model.name == "anthropic:claude-test"


def test_tool_use_becomes_tool_calls_and_results_go_back_as_tool_result_blocks(server, model):
    server.script(
        FakeAnthropicServer.tool_use("get_weather", {"location": "Paris"}, text="Let me check.")
    )
    step = model.complete([_msg(PromptRole.USER, "weather?")], tools=[WEATHER])
    [call] = step.tool_calls
    assert (step.content, call.name, json.loads(call.arguments)) == (
        "Let me check.",
        "get_weather",
        {"location": "Paris"},
    )
    assert server.requests[-1].json["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a place.",
            "input_schema": WEATHER.parameters,
        }
    ]
    second = ToolCall("toolu_b", "get_weather", '{"location": "Rome"}')
    server.script("Paris 20°C, Rome 25°C.")
    final = model.complete(
        [
            _msg(PromptRole.USER, "weather?"),
            _msg(PromptRole.ASSISTANT, "Let me check.", tool_calls=(call, second)),
            _msg(PromptRole.TOOL, '{"t": 20}', tool_call_id=call.id),
            _msg(PromptRole.TOOL, '{"t": 25}', tool_call_id="toolu_b"),
        ],
        tools=[WEATHER],
    )
    assert final.content == "Paris 20°C, Rome 25°C."
    sent = server.requests[-1].json["messages"]
    assert sent[1]["content"][2] == {
        "type": "tool_use",
        "id": "toolu_b",
        "name": "get_weather",
        "input": {"location": "Rome"},
    }
    assert sent[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": '{"t": 20}'},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": '{"t": 25}'},
        ],
    }


@pytest.mark.parametrize(("status", "retry_after"), [(429, 7.0), (529, None), (500, None)])
def test_transient_statuses_are_unavailable_with_the_retry_after_hint(
    server, model, status, retry_after
):
    server.script(
        FakeAnthropicServer.error(status, f"key {API_KEY} is busy", retry_after=retry_after)
    )
    with pytest.raises(ModelUnavailable) as error:
        model.complete([_msg(PromptRole.USER, "hi")])
    assert f"HTTP {status}" in str(error.value)
    assert error.value.retry_after_s == retry_after
    assert API_KEY not in str(error.value)


def test_a_bad_request_is_rejected(server, model):
    server.script(FakeAnthropicServer.error(400, "max_tokens: too large"))
    with pytest.raises(ModelRejected, match=r"HTTP 400\): max_tokens: too large"):
        model.complete([_msg(PromptRole.USER, "hi")])


def test_an_unreachable_server_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = anthropic_client(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", timeout_s=2)
    with pytest.raises(ModelUnavailable, match="is unreachable"):
        AnthropicChatModel(client, model="m").complete([_msg(PromptRole.USER, "hi")])


def test_a_streamed_request_asks_for_a_stream(server, model):
    model.complete([_msg(PromptRole.USER, "hi")], on_text=lambda text: None)
    model.complete([_msg(PromptRole.USER, "hi")])

    streamed, whole = (r.json for r in server.requests)
    assert streamed["stream"] is True
    assert "stream" not in whole


@pytest.mark.parametrize(("status", "error"), [(529, ModelUnavailable), (400, ModelRejected)])
def test_a_streamed_call_maps_http_errors_as_a_whole_one_does(server, model, status, error):
    server.script(FakeAnthropicServer.error(status, f"key {API_KEY} says no", retry_after=1))

    with pytest.raises(error, match=f"HTTP {status}") as caught:
        model.complete([_msg(PromptRole.USER, "hi")], on_text=lambda text: None)

    assert API_KEY not in str(caught.value)


def test_a_stalled_stream_times_out(server):
    server.pacing = Pacing(token_gap_s=10)
    client = anthropic_client(api_key=API_KEY, base_url=server.url, timeout_s=0.5)
    deltas: list[str] = []

    with client, pytest.raises(ModelUnavailable, match="timed out") as caught:
        AnthropicChatModel(client, model="m").complete(
            [_msg(PromptRole.USER, "hi")], on_text=deltas.append
        )

    assert deltas == ["claude"]
    # The transport's timeout, raw or (anthropic >= 2.17) as the SDK's own.
    assert isinstance(caught.value.__cause__, httpx2.TimeoutException | anthropic.APITimeoutError)
