"""The response and tool caches end to end: two app instances sharing Redis, the real SDK, a
fake provider calling real tools (the weather against its fake upstream)."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from twirp.context import Context

from chat_service.composition.app import create_app
from chat_service.core import prompts
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.uvicorn_thread import serve
from tests.metrics_text import value


def _is_title_request_body(body) -> bool:
    first = body["messages"][0]
    return first["role"] == "system" and first["content"].startswith(prompts.TITLE_INSTRUCTION)


def _is_title_request(request) -> bool:
    return _is_title_request_body(request.json)


@pytest.fixture(scope="module")
def cached_apps(app_settings):
    """Two instances of the app with the cache on, like two workers behind one balancer."""
    settings = dataclasses.replace(app_settings, cache_ttl_hours=1.0)
    first, second = create_app(settings), create_app(settings)
    with serve(first) as url_a, serve(second) as url_b:
        yield [first, second], [ChatServiceClient(url, timeout=30) for url in (url_a, url_b)]


def _start(client, message: str) -> pb.StartConversationResponse:
    return client.StartConversation(
        ctx=Context(), request=pb.StartConversationRequest(message=message)
    )


def test_twenty_identical_concurrent_starts_call_the_provider_once(cached_apps, fake_openai):
    apps, clients = cached_apps
    fake_openai.latency_s = 0.3  # long enough for all twenty to miss together
    question = f"What is a monad? ({uuid.uuid4().hex})"

    with ThreadPoolExecutor(max_workers=20) as pool:
        started = list(pool.map(lambda i: _start(clients[i % 2], question), range(20)))

    replies = [r for r in fake_openai.requests if not _is_title_request(r)]
    titles = [r for r in fake_openai.requests if _is_title_request(r)]
    assert (len(replies), len(titles)) == (1, 1)
    assert {s.reply for s in started} == {f"echo: {question}"}
    assert len({s.conversation_id for s in started}) == 20  # each start is its own conversation
    reply_counts = [app.state.cache_counters.snapshot()["reply"] for app in apps]
    assert sum(c.misses for c in reply_counts) == 1
    assert sum(c.hits + c.coalesced for c in reply_counts) == 19
    for app, counts in zip(apps, reply_counts, strict=True):  # /metrics says the same
        text = app.state.telemetry.metrics.exposition()[0].decode()
        for result, count in (("miss", counts.misses), ("hit", counts.hits)):
            assert value(text, "cache_requests_total", kind="reply", result=result) == count


def test_the_cache_is_scoped_to_the_conversation_so_far(cached_apps, fake_openai):
    _, clients = cached_apps
    question = f"Same words, new context ({uuid.uuid4().hex})"
    first = _start(clients[0], question)
    clients[0].ContinueConversation(
        ctx=Context(),
        request=pb.ContinueConversationRequest(
            conversation_id=first.conversation_id, message=question
        ),
    )
    replies = [r for r in fake_openai.requests if not _is_title_request(r)]
    # The same last message after a different history is a different question.
    assert len(replies) == 2


def _tool_then_answer(name: str, arguments: dict, answer: str):
    """A provider that calls one tool for each new question, then answers from its result."""

    def responder(request):
        if _is_title_request_body(request):
            return "A Title"
        if request["messages"][-1]["role"] == "user":
            return FakeOpenAIServer.tool_call(name, arguments, call_id="call_1")
        return answer

    return responder


def _stored_roles(client, conversation_id: str) -> list[tuple[int, str]]:
    detail = client.DescribeConversation(
        ctx=Context(), request=pb.DescribeConversationRequest(conversation_id=conversation_id)
    )
    return [(m.role, m.tool_name) for m in detail.conversation.messages]


def _forecasts(fake_weather) -> int:
    return sum(1 for seen in fake_weather.seen if seen.path == "/v1/forecast")


def test_a_repeated_weather_question_is_answered_and_stored_whole_from_the_cache(
    cached_apps, fake_openai, fake_weather
):
    _, clients = cached_apps
    weather = {"location": "Barcelona", "days": 2}
    fake_openai.responder = _tool_then_answer("get_weather", weather, "Sunny in Barcelona.")
    question = f"Weather in Barcelona? ({uuid.uuid4().hex})"

    first = _start(clients[0], question)
    second = _start(clients[1], question)  # another instance: the cache is in Redis

    assert first.reply == second.reply == "Sunny in Barcelona."
    replies = [r for r in fake_openai.requests if not _is_title_request(r)]
    assert len(replies) == 2  # the tool step and the answer, once
    assert _forecasts(fake_weather) == 1
    # The second conversation stores the whole turn group the answer rests on.
    group = [
        (pb.Conversation.USER, ""),
        (pb.Conversation.ASSISTANT, ""),
        (pb.Conversation.TOOL, "get_weather"),
        (pb.Conversation.ASSISTANT, ""),
    ]
    assert _stored_roles(clients[0], first.conversation_id) == group
    assert _stored_roles(clients[1], second.conversation_id) == group


def test_a_new_question_reuses_a_fresh_tool_result(cached_apps, fake_openai, fake_weather):
    _, clients = cached_apps
    weather = {"location": "Barcelona", "days": 3}
    fake_openai.responder = _tool_then_answer("get_weather", weather, "Mild.")

    _start(clients[0], f"Is it warm in Barcelona? ({uuid.uuid4().hex})")
    _start(clients[1], f"Do I need a coat in Barcelona? ({uuid.uuid4().hex})")

    replies = [r for r in fake_openai.requests if not _is_title_request(r)]
    assert len(replies) == 4  # two questions, each a tool step and an answer
    assert _forecasts(fake_weather) == 1  # the weather was fetched once


def test_an_answer_that_read_the_clock_is_never_reused(cached_apps, fake_openai):
    _, clients = cached_apps
    clock = {"timezone": "Europe/Madrid"}
    fake_openai.responder = _tool_then_answer("get_date_time", clock, "It is late.")
    question = f"What time is it in Madrid? ({uuid.uuid4().hex})"

    _start(clients[0], question)
    _start(clients[0], question)

    replies = [r for r in fake_openai.requests if not _is_title_request(r)]
    assert len(replies) == 4
