"""The response cache end to end: two app instances sharing Redis, the real SDK, a fake provider."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from twirp.context import Context

from chat_service import prompts
from chat_service.app import create_app
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests.fakes.uvicorn_thread import serve


def _is_title_request(request) -> bool:
    first = request.json["messages"][0]
    return first["role"] == "system" and first["content"].startswith(prompts.TITLE_INSTRUCTION)


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
