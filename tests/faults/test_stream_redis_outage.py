"""Redis stops in the middle of a streamed turn: the turn still streams to its end and is stored
once; a resume while Redis is down answers the terminal event from MongoDB.

This module runs its own Redis server (the session-wide one other tests use is never stopped).
"""

from __future__ import annotations

import pytest
import requests

from chat_service.composition.app import create_app
from devstack.servers import RedisServer
from tests.fakes.sse_reader import SseEvent, sse_events
from tests.fakes.sse_stream import Pacing
from tests.fakes.uvicorn_thread import serve

RPC = "/twirp/acai.chat.ChatService/"
WORDS = " ".join(f"w{i}" for i in range(30))


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("stream-outage-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app_url(fault_settings, own_redis, mongo_uri):
    settings = fault_settings(redis_url=own_redis.url, mongo_uri=mongo_uri, redis_timeout_s=0.5)
    with serve(create_app(settings)) as url:
        yield url


def test_a_streamed_turn_outlives_redis_and_resumes_from_mongodb(app_url, own_redis, fake_openai):
    started = requests.post(app_url + RPC + "StartConversation", json={"message": "hi"}).json()
    conversation = started["conversation_id"]
    fake_openai.pacing = Pacing(first_token_delay_s=0.05, token_gap_s=0.05)
    body = {"conversation_id": conversation, "message": WORDS}
    events: list[SseEvent] = []
    with requests.post(
        app_url + "/stream/acai.chat.ChatService/ContinueConversation",
        json=body,
        stream=True,
        timeout=60,
    ) as response:
        turn_id = response.headers["x-turn-id"]
        for event in sse_events(response):
            events.append(event)
            if len(events) == 4:
                own_redis.stop()  # mid-stream
    try:
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        assert events[-1].event == "completed"
        reply = events[-1].body["continue"]["reply"]
        text = "".join(e.body["text"] for e in events if e.event == "delta")
        assert text == reply == f"echo: {WORDS}"
        described = requests.post(
            app_url + RPC + "DescribeConversation", json={"conversation_id": conversation}
        ).json()
        contents = [m["content"] for m in described["conversation"]["messages"]]
        assert contents == ["hi", started["reply"], WORDS, reply]  # stored once
        # Redis is still down: the resume gets the terminal event from MongoDB.
        with requests.get(app_url + "/stream/turns/" + turn_id, stream=True, timeout=30) as again:
            assert again.status_code == 200, again.text
            assert list(sse_events(again)) == [events[-1]]
        after_terminal = requests.get(
            app_url + "/stream/turns/" + turn_id, params={"after": events[-1].id}, timeout=30
        )
        assert after_terminal.status_code == 200
        assert after_terminal.text == ""
    finally:
        own_redis.start()
