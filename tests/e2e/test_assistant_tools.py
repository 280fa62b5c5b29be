"""The tool-calling loop end to end: the app, the real openai SDK, the fake provider, real tools
(weather against the fake upstream, holidays and clock offline), stored and described."""

from __future__ import annotations

import json
from collections import deque

import pytest
from twirp.context import Context

from chat_service.core import prompts
from gen.acai.chat import chat_pb2 as pb
from tests.fakes.openai_server import FakeOpenAIServer

TOOL = pb.Conversation.TOOL
USER = pb.Conversation.USER
ASSISTANT = pb.Conversation.ASSISTANT


def _is_title(request: dict) -> bool:
    first = request["messages"][0]
    return first["role"] == "system" and first["content"].startswith(prompts.TITLE_INSTRUCTION)


@pytest.fixture
def replies(fake_openai):
    """Queues the replies to reply requests; title requests get a fixed title."""
    queue: deque = deque()

    def responder(request):
        if _is_title(request):
            return "Spain Holidays And Weather"
        return queue.popleft() if queue else "(no more scripted replies)"

    fake_openai.responder = responder
    return queue


def _reply_requests(fake_openai):
    return [r.json for r in fake_openai.requests if not _is_title(r.json)]


def test_a_two_round_tool_conversation_is_stored_and_described(client, fake_openai, replies):
    replies.extend(
        [
            FakeOpenAIServer.tool_call(
                "get_date_time", {"timezone": "Europe/Madrid"}, call_id="c1"
            ),
            FakeOpenAIServer.tool_calls(
                ("get_public_holidays", {"country": "ES", "year": 2026}, "c2"),
                ("get_weather", {"location": "Barcelona", "days": 1}, "c3"),
            ),
            "Spain has 8 national holidays in 2026; Barcelona is 17.3 °C and partly cloudy.",
        ]
    )
    started = client.StartConversation(
        ctx=Context(),
        request=pb.StartConversationRequest(
            message="Holidays in Spain this year, and the weather?"
        ),
    )
    assert started.reply.startswith("Spain has 8 national holidays")
    detail = client.DescribeConversation(
        ctx=Context(),
        request=pb.DescribeConversationRequest(conversation_id=started.conversation_id),
    )
    messages = detail.conversation.messages
    assert [
        (m.role, [c.name for c in m.tool_calls], m.tool_call_id, m.tool_name) for m in messages
    ] == [
        (USER, [], "", ""),
        (ASSISTANT, ["get_date_time"], "", ""),
        (TOOL, [], "c1", "get_date_time"),
        (ASSISTANT, ["get_public_holidays", "get_weather"], "", ""),
        (TOOL, [], "c2", "get_public_holidays"),
        (TOOL, [], "c3", "get_weather"),
        (ASSISTANT, [], "", ""),
    ]
    assert json.loads(messages[1].tool_calls[0].arguments) == {"timezone": "Europe/Madrid"}
    assert json.loads(messages[2].content)["timezone"] == "Europe/Madrid"
    holidays = json.loads(messages[4].content)["holidays"]
    assert {"date": "2026-12-25", "name": "Christmas Day"} in holidays
    assert json.loads(messages[5].content)["current"]["temperature_c"] == 17.3
    # The model's last request carried both rounds, each result after its call.
    last = _reply_requests(fake_openai)[-1]["messages"]
    assert [m["role"] for m in last[1:]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "tool",
    ]

    # The next turn sees the stored tool exchange as history.
    replies.append("You asked about holidays and weather.")
    client.ContinueConversation(
        ctx=Context(),
        request=pb.ContinueConversationRequest(
            conversation_id=started.conversation_id, message="What did I ask?"
        ),
    )
    history = _reply_requests(fake_openai)[-1]["messages"]
    assert [m["role"] for m in history[1:]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "user",
    ]
    assert [m.get("tool_call_id") for m in history if m["role"] == "tool"] == ["c1", "c2", "c3"]


def test_a_weather_upstream_failure_reaches_the_model_as_a_tool_error(
    client, fake_weather, fake_openai, replies
):
    fake_weather.fail_with(503)
    replies.extend(
        [
            FakeOpenAIServer.tool_call("get_weather", {"location": "Barcelona"}, call_id="w1"),
            "The weather service is unavailable right now.",
        ]
    )
    started = client.StartConversation(
        ctx=Context(), request=pb.StartConversationRequest(message="Weather in Barcelona?")
    )
    tool_message = _reply_requests(fake_openai)[-1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert json.loads(tool_message["content"]) == {
        "error": "open-meteo-geocoding answered HTTP 503"
    }
    assert started.reply == "The weather service is unavailable right now."


def _count(rpc) -> int:
    return len(rpc("ListConversations", {"page_size": 100}).json()["conversations"])


def test_running_out_of_tool_rounds_is_aborted_and_stores_nothing(rpc, replies):
    before = _count(rpc)
    replies.extend(
        FakeOpenAIServer.tool_call("get_date_time", {"offset_days": n}) for n in range(1, 20)
    )
    response = rpc("StartConversation", {"message": "loop please"})
    assert response.status_code == 409
    assert response.json() == {
        "code": "aborted",
        "msg": "the assistant did not answer within 5 rounds of tool calls",
        "meta": {"reason": "tool_rounds_exhausted"},
    }
    assert _count(rpc) == before


def test_a_repeated_tool_call_is_aborted(rpc, replies):
    replies.extend(
        [
            FakeOpenAIServer.tool_call("get_date_time", {}),
            FakeOpenAIServer.tool_call("get_date_time", {}),
        ]
    )
    response = rpc("StartConversation", {"message": "again"})
    assert (response.status_code, response.json()["meta"]) == (
        409,
        {"reason": "repeated_tool_call"},
    )


def test_the_app_exposes_breaker_states_and_tool_names(app, server_url):
    assert app.state.tool_names == ("get_weather", "get_date_time", "get_public_holidays")
    assert app.state.breaker_states() == {
        "llm:openai:gpt-test": "closed",
        "tool:open-meteo-forecast": "closed",
        "tool:open-meteo-geocoding": "closed",
    }
