"""One turn at a time per conversation, end to end: a second turn waits, then gets `aborted`."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from twirp.context import Context
from twirp.exceptions import TwirpServerException

from chat_service.composition.app import create_app
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests.fakes.uvicorn_thread import serve


@pytest.fixture(scope="module")
def impatient_client(app_settings):
    settings = dataclasses.replace(app_settings, turn_lock_wait_s=0.3)
    with serve(create_app(settings)) as url:
        yield ChatServiceClient(url, timeout=30)


def _continue(client, conversation_id, text):
    request = pb.ContinueConversationRequest(conversation_id=conversation_id, message=text)
    return client.ContinueConversation(ctx=Context(), request=request)


def test_a_second_turn_waits_a_bounded_time_then_is_aborted(impatient_client, fake_openai, rpc):
    started = impatient_client.StartConversation(
        ctx=Context(), request=pb.StartConversationRequest(message="slow topic")
    )
    fake_openai.latency_s = 3.0
    first_reply = []
    first = threading.Thread(
        target=lambda: first_reply.append(_continue(impatient_client, started.conversation_id, "1"))
    )
    first.start()
    deadline = time.monotonic() + 10
    while len(fake_openai.requests) < 3:  # start's reply and title, then the first turn
        assert time.monotonic() < deadline, "the first turn never reached the provider"
        time.sleep(0.01)

    with pytest.raises(TwirpServerException) as failure:
        _continue(impatient_client, started.conversation_id, "2")
    assert failure.value.code.value == "aborted"
    assert "in progress" in failure.value.message

    first.join()
    assert first_reply[0].reply == "echo: 1"
    fake_openai.latency_s = 0.0
    assert _continue(impatient_client, started.conversation_id, "3").reply == "echo: 3"
    described = impatient_client.DescribeConversation(
        ctx=Context(),
        request=pb.DescribeConversationRequest(conversation_id=started.conversation_id),
    )
    assert [m.content for m in described.conversation.messages] == [
        "slow topic",
        "echo: slow topic",
        "1",
        "echo: 1",
        "3",
        "echo: 3",
    ]
