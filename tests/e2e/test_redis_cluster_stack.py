"""The app on the local Redis Cluster, end to end: two instances share it for turns, sessions,
turn locks, idempotency, the response cache's single flight, streamed turns (their event log,
resume and cancel) and the rate limit."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor

import pymongo
import pytest
import requests
from twirp.context import Context

import migrations
from chat_service.composition.app import create_app
from chat_service.config import Secret
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests import canaries
from tests.e2e.conftest import ROUTE
from tests.e2e.test_response_cache import _is_title_request
from tests.fakes.sse_reader import sse_events
from tests.fakes.uvicorn_thread import serve

pytestmark = pytest.mark.cluster


@dataclasses.dataclass(frozen=True)
class Instances:
    """Two app instances on one Redis Cluster, as two pods behind a balancer."""

    urls: list[str]
    clients: list[ChatServiceClient]

    def post(self, i: int, method: str, body: object):
        return requests.post(self.urls[i % 2] + ROUTE + method, json=body, timeout=30)


@pytest.fixture(scope="module")
def instances(app_settings, redis_cluster_url):
    settings = dataclasses.replace(app_settings, redis_url=redis_cluster_url, cache_ttl_hours=1.0)
    with serve(create_app(settings)) as first, serve(create_app(settings)) as second:
        urls = [first, second]
        yield Instances(urls, [ChatServiceClient(url, timeout=30) for url in urls])


def _replies_asked(fake_openai) -> int:
    return sum(not _is_title_request(r) for r in fake_openai.requests)


def test_health_reports_the_cluster_up(instances):
    body = requests.get(instances.urls[0] + "/health", timeout=10).json()
    assert body["checks"]["redis"] == "ok", body


def test_a_bot_session_continues_across_instances_and_ends(instances):
    session = pb.SessionMetadata(platform="telegram", user_id="7", chat_id=uuid.uuid4().hex)

    def say(i: int, text: str) -> pb.ContinueConversationResponse:
        request = pb.ContinueConversationRequest(message=text, session_metadata=session)
        return instances.clients[i % 2].ContinueConversation(ctx=Context(), request=request)

    replies = [say(i, f"cluster message {i}") for i in range(4)]
    assert replies[0].new_conversation
    assert {r.conversation_id for r in replies} == {replies[0].conversation_id}
    detail = instances.clients[1].DescribeConversation(
        ctx=Context(),
        request=pb.DescribeConversationRequest(conversation_id=replies[0].conversation_id),
    )
    assert [m.content for m in detail.conversation.messages][::2] == [
        f"cluster message {i}" for i in range(4)
    ]
    instances.clients[0].EndSession(
        ctx=Context(), request=pb.EndSessionRequest(session_metadata=session)
    )
    assert say(1, "afresh").new_conversation


def test_concurrent_turns_on_one_conversation_through_both_lose_and_duplicate_nothing(instances):
    cid = instances.post(0, "StartConversation", {"message": "count on the cluster"}).json()[
        "conversation_id"
    ]

    def turn(i: int) -> str:
        body = {"conversation_id": cid, "message": f"turn {i}"}
        return instances.post(i, "ContinueConversation", body).json()["reply"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert list(pool.map(turn, range(12))) == [f"echo: turn {i}" for i in range(12)]
    described = instances.post(1, "DescribeConversation", {"conversation_id": cid}).json()
    users = [m["content"] for m in described["conversation"]["messages"][2::2]]
    assert sorted(users) == sorted(f"turn {i}" for i in range(12))


def test_repeats_of_a_turn_on_both_instances_answer_once_and_store_once(instances, fake_openai):
    cid = instances.post(0, "StartConversation", {"message": "idempotent on the cluster"}).json()[
        "conversation_id"
    ]
    fake_openai.reset()
    fake_openai.latency_s = 0.3  # the repeats arrive while the first is still running
    body = {"conversation_id": cid, "message": "once", "idempotency_key": uuid.uuid4().hex}
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(
            pool.map(lambda i: instances.post(i, "ContinueConversation", body), range(4))
        )
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    assert _replies_asked(fake_openai) == 1
    described = instances.post(1, "DescribeConversation", {"conversation_id": cid}).json()
    assert len(described["conversation"]["messages"]) == 4


def test_identical_concurrent_starts_on_both_instances_ask_the_provider_once(
    instances, fake_openai
):
    fake_openai.latency_s = 0.3  # long enough for all of them to miss together
    question = f"What is a hash slot? ({uuid.uuid4().hex})"
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(
                lambda i: instances.post(i, "StartConversation", {"message": question}), range(8)
            )
        )
    assert {r.json()["reply"] for r in replies} == {f"echo: {question}"}
    assert _replies_asked(fake_openai) == 1


def test_a_turn_streamed_by_one_instance_resumes_from_the_other(instances):
    body = {"message": f"stream on the cluster {uuid.uuid4().hex}"}
    url = instances.urls[0] + "/stream/acai.chat.ChatService/StartConversation"
    with requests.post(url, json=body, stream=True, timeout=30) as response:
        events = list(sse_events(response))
    turn_id = response.headers["x-turn-id"]
    assert (events[0].event, events[-1].event) == ("started", "completed")
    for after in (0, 2, len(events)):
        resumed = instances.urls[1] + f"/stream/turns/{turn_id}"
        headers = {"Last-Event-ID": str(after)}
        with requests.get(resumed, headers=headers, stream=True, timeout=30) as again:
            assert list(sse_events(again)) == events[after:]


def test_a_turn_cancelled_through_the_other_instance_keeps_what_was_sent(instances, fake_openai):
    started = instances.post(0, "StartConversation", {"message": "before the stop"}).json()
    fake_openai.latency_s = 1.0
    body = {"conversation_id": started["conversation_id"], "message": "stop me"}
    url = instances.urls[0] + "/stream/acai.chat.ChatService/ContinueConversation"
    with requests.post(url, json=body, stream=True, timeout=30) as response:
        events = sse_events(response)
        assert next(events).event == "started"
        turn_id = response.headers["x-turn-id"]
        cancel = instances.post(1, "CancelTurn", {"turn_id": turn_id}).json()
        assert cancel == {"cancelled": True, "turn_id": turn_id}
        rest = list(events)
    assert rest[-1].event == "cancelled"
    described = instances.post(
        1, "DescribeConversation", {"conversation_id": body["conversation_id"]}
    )
    last = described.json()["conversation"]["messages"][-1]
    assert (last["content"], last["finish_reason"]) == (rest[-1].body["partialText"], "cancelled")


@pytest.fixture(scope="module")
def limited_url(app_settings, redis_cluster_url, mongo_uri):
    settings = dataclasses.replace(
        app_settings,
        redis_url=redis_cluster_url,
        mongo_database=f"e2e_cluster_limited_{uuid.uuid4().hex[:12]}",
        api_key=Secret(canaries.API_KEY),
        api_rate_limit_rps=0.001,  # nothing refills during the test
        api_rate_limit_burst=2,
    )
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        with serve(create_app(settings)) as first, serve(create_app(settings)) as second:
            yield [first, second]
        client.drop_database(settings.mongo_database)


def test_the_rate_limit_is_shared_by_the_instances_through_the_cluster(limited_url):
    key = {"Authorization": f"Bearer {canaries.API_KEY}"}
    statuses = [
        requests.post(url + ROUTE + "ListConversations", json={}, headers=key, timeout=10)
        for url in [*limited_url, *limited_url]
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
