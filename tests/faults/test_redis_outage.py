"""Redis dies in the middle of a run of session turns and comes back empty: nothing is lost.

This module runs its own Redis server (the session-wide one other tests use is never stopped).
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
from twirp.context import Context

from chat_service.composition.app import create_app
from devstack.servers import RedisServer
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests.fakes.uvicorn_thread import serve
from tests.faults.ledger import Ledger, assert_consistent

TURNS = 24


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("outage-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def outage_app(fault_settings, own_redis, mongo_uri):
    settings = fault_settings(
        redis_url=own_redis.url,
        mongo_uri=mongo_uri,
        cache_ttl_hours=1.0,
        api_rate_limit_rps=1000.0,  # on, so its fallback and recovery are exercised too
        api_rate_limit_burst=1000,
    )
    with serve(create_app(settings)) as url:
        yield url, settings


def _health(url: str) -> str:
    return requests.get(f"{url}/health", timeout=10).json()["status"]


def _wait_for_health(url: str, status: str) -> None:
    deadline = time.monotonic() + 20
    while _health(url) != status:
        assert time.monotonic() < deadline, f"/health never became {status}"
        time.sleep(0.05)


def test_turns_survive_redis_stopping_mid_run_and_sessions_resume_after_a_flush(
    outage_app, own_redis
):
    app_url, settings = outage_app
    client = ChatServiceClient(app_url, timeout=30)
    session = pb.SessionMetadata(platform="telegram", user_id="7", chat_id=uuid.uuid4().hex)
    replies: list[pb.ContinueConversationResponse] = []
    errors: list[Exception] = []
    after_restart = threading.Event()

    def bot() -> None:
        for i in range(TURNS):
            if i == TURNS // 2:
                after_restart.wait(30)  # the rest of the run starts on a restarted, empty Redis
            try:
                request = pb.ContinueConversationRequest(
                    message=f"message {i}", session_metadata=session
                )
                replies.append(client.ContinueConversation(ctx=Context(), request=request))
            except Exception as exc:
                errors.append(exc)
            time.sleep(0.02)

    assert _health(app_url) == "healthy"
    runner = threading.Thread(target=bot)
    runner.start()
    while len(replies) + len(errors) < 4:
        time.sleep(0.01)
    own_redis.stop()  # mid-run: the turns go on without Redis
    done_when_stopped = len(replies) + len(errors)
    _wait_for_health(app_url, "degraded")
    while len(replies) + len(errors) < TURNS // 2:
        time.sleep(0.01)
    done_while_down = len(replies) + len(errors) - done_when_stopped
    own_redis.start()  # no persistence: it comes back empty, as after a flush
    _wait_for_health(app_url, "healthy")
    after_restart.set()
    runner.join(60)

    assert errors == []
    assert done_while_down >= 4
    assert len(replies) == TURNS
    conversation_ids = {r.conversation_id for r in replies}
    assert len(conversation_ids) == 1, "the session resumed the same conversation throughout"
    assert [r.new_conversation for r in replies] == [True] + [False] * (TURNS - 1)
    detail = client.DescribeConversation(
        ctx=Context(),
        request=pb.DescribeConversationRequest(
            conversation_id=replies[0].conversation_id, page_size=1000
        ),
    )
    contents = [m.content for m in detail.conversation.messages]
    expected = [text for i in range(TURNS) for text in (f"message {i}", f"echo: message {i}")]
    assert contents == expected  # every turn stored once, in order
    ledger = Ledger()
    for i in range(TURNS):
        ledger.ack(replies[0].conversation_id, f"message {i}")
    assert_consistent(settings.mongo_uri, settings.mongo_database, ledger)
