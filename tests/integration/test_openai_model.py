"""OpenAIChatModel through the real openai SDK against the fake OpenAI server: requests and replies.

Error translation is in test_openai_model_errors.py.
"""

from __future__ import annotations

import pytest

from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.ports.chat_model import (
    ChatMessage,
    Completion,
    PromptRole,
    ToolCall,
    ToolSpec,
    Usage,
)
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.openai_wire import Reply

API_KEY = "sk-test-SECRETSECRETSECRET1234"
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a place.",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
)


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


def test_plain_reply_becomes_a_completion(server, model):
    server.script(Reply("Hello there!", usage=(12, 3)))

    completion = model.complete([_user("Hi")])

    assert completion == Completion("Hello there!", (), Usage(12, 3), "gpt-test", "openai")
    assert model.name == "openai:gpt-test"


def test_tool_call_reply_becomes_tool_calls(server, model):
    server.script(FakeOpenAIServer.tool_call("get_weather", {"location": "Paris"}, call_id="c1"))

    completion = model.complete([_user("Weather in Paris?")], tools=[WEATHER])

    assert completion.content == ""
    assert completion.tool_calls == (ToolCall("c1", "get_weather", '{"location": "Paris"}'),)


def test_parallel_tool_calls_keep_their_order_and_get_distinct_ids(server, model):
    server.script(
        FakeOpenAIServer.tool_calls(("get_weather", {"location": "Paris"}, ""), ("clock", {}, ""))
    )

    calls = model.complete([_user("Weather and time?")], tools=[WEATHER]).tool_calls

    assert [c.name for c in calls] == ["get_weather", "clock"]
    assert len({c.id for c in calls}) == 2


def test_request_carries_model_messages_tools_max_tokens_and_key(server, model):
    model.complete(
        [ChatMessage(PromptRole.SYSTEM, "Be brief."), _user("Weather in Paris?")],
        tools=[WEATHER, ToolSpec("clock", "The current time.")],
        max_tokens=77,
    )

    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    body = request.json
    assert body["model"] == "gpt-test"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    assert body["max_tokens"] == 77
    assert "max_completion_tokens" not in body
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a place.",
                "parameters": dict(WEATHER.parameters),
            },
        },
        {
            "type": "function",
            "function": {
                "name": "clock",
                "description": "The current time.",
                "parameters": {"type": "object", "properties": {}},
            },
        },
    ]


def test_no_tools_means_no_tools_field(server, model):
    model.complete([_user("Hi")])

    assert "tools" not in server.requests[0].json


def test_max_completion_tokens_when_configured(server):
    client = openai_client(api_key=API_KEY, base_url=server.url, timeout_s=5)
    reasoning = OpenAIChatModel(client, model="o-test", token_limit_param="max_completion_tokens")
    with client:
        reasoning.complete([_user("Hi")], max_tokens=55)

    body = server.requests[0].json
    assert body["max_completion_tokens"] == 55
    assert "max_tokens" not in body


def test_multi_turn_with_tool_calls_and_results_is_serialized(server, model):
    call = ToolCall("call_7", "get_weather", '{"location": "Paris"}')
    model.complete(
        [
            ChatMessage(PromptRole.SYSTEM, "sys"),
            _user("Weather in Paris?"),
            ChatMessage(PromptRole.ASSISTANT, "", tool_calls=(call,)),
            ChatMessage(PromptRole.TOOL, '{"temp_c": 18}', tool_call_id="call_7"),
            ChatMessage(PromptRole.ASSISTANT, "It is 18 °C."),
            _user("Thanks!"),
        ]
    )

    assert server.requests[0].json["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_7",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": '{"temp_c": 18}', "tool_call_id": "call_7"},
        {"role": "assistant", "content": "It is 18 °C."},
        {"role": "user", "content": "Thanks!"},
    ]


def test_default_responder_echoes_the_last_user_message(model):
    assert model.complete([_user("first"), _user("ping")]).content == "echo: ping"


def test_a_streamed_request_asks_for_usage_in_the_last_chunk(server, model):
    model.complete([_user("Hi")], on_text=lambda text: None)
    model.complete([_user("Hi")])

    streamed, whole = (r.json for r in server.requests)
    assert streamed["stream"] is True
    assert streamed["stream_options"] == {"include_usage": True}
    assert "stream" not in whole
    assert "stream_options" not in whole


def test_streamed_calls_reuse_one_connection(server, model):
    for _ in range(3):
        model.complete([_user("Hi")], on_text=lambda text: None)
    model.complete([_user("Hi")])

    assert server.connections == 1  # each stream was read to its end before it was closed
