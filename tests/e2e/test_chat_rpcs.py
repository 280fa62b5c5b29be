"""The four RPCs' behaviour, end to end: generated client and JSON over the real app."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from twirp.context import Context
from twirp.exceptions import TwirpServerException

from chat_service.core import prompts
from gen.acai.chat import chat_pb2 as pb
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.openai_wire import echo_responder


def _is_title_request(request: dict) -> bool:
    first = request["messages"][0]
    return first["role"] == "system" and first["content"].startswith(prompts.TITLE_INSTRUCTION)


@pytest.fixture
def responder(fake_openai):
    """Replaces the fake provider's responder for one test."""

    def install(function):
        fake_openai.responder = function

    yield install
    fake_openai.responder = echo_responder


def _start(client, message: str) -> pb.StartConversationResponse:
    return client.StartConversation(
        ctx=Context(), request=pb.StartConversationRequest(message=message)
    )


def _describe(client, conversation_id: str, **kwargs) -> pb.DescribeConversationResponse:
    request = pb.DescribeConversationRequest(conversation_id=conversation_id, **kwargs)
    return client.DescribeConversation(ctx=Context(), request=request)


def test_start_returns_id_title_and_reply_from_the_model(client, responder):
    responder(lambda r: "Weather In Barcelona" if _is_title_request(r) else "It is sunny.")
    started = _start(client, "What is the weather in Barcelona?")
    assert len(started.conversation_id) == 24
    assert started.title == "Weather In Barcelona"
    assert started.reply == "It is sunny."
    detail = _describe(client, started.conversation_id)
    assert detail.conversation.title == "Weather In Barcelona"
    assert [(m.role, m.content) for m in detail.conversation.messages] == [
        (pb.Conversation.USER, "What is the weather in Barcelona?"),
        (pb.Conversation.ASSISTANT, "It is sunny."),
    ]


def test_title_and_reply_are_generated_concurrently(client, responder):
    both_in_flight = threading.Barrier(2, timeout=5)

    def answer(request):
        both_in_flight.wait()  # breaks (and the turn fails) if the two calls come one by one
        return "A Title" if _is_title_request(request) else "a reply"

    responder(answer)
    started = _start(client, "two things at once")
    assert (started.title, started.reply) == ("A Title", "a reply")


def test_the_model_sees_the_history_of_the_conversation(client, fake_openai):
    started = _start(client, "my name is Ada")
    client.ContinueConversation(
        ctx=Context(),
        request=pb.ContinueConversationRequest(
            conversation_id=started.conversation_id, message="what is my name?"
        ),
    )
    last = fake_openai.requests[-1].json
    assert last["model"] == "gpt-test"
    assert [(m["role"], m["content"]) for m in last["messages"][1:]] == [
        ("user", "my name is Ada"),
        ("assistant", "echo: my name is Ada"),
        ("user", "what is my name?"),
    ]
    assert last["messages"][0]["role"] == "system"


def test_a_failed_start_stores_nothing(client, responder, rpc):
    before = len(rpc("ListConversations", {"page_size": 100}).json()["conversations"])
    responder(lambda r: "Title" if _is_title_request(r) else FakeOpenAIServer.error(500, "boom"))
    with pytest.raises(TwirpServerException) as failure:
        _start(client, "this turn fails")
    assert failure.value.code.value == "unavailable"
    after = len(rpc("ListConversations", {"page_size": 100}).json()["conversations"])
    assert after == before


def test_a_failed_continue_leaves_the_conversation_unchanged(client, responder):
    started = _start(client, "first")
    responder(lambda r: FakeOpenAIServer.error(503, "overloaded"))
    with pytest.raises(TwirpServerException) as failure:
        client.ContinueConversation(
            ctx=Context(),
            request=pb.ContinueConversationRequest(
                conversation_id=started.conversation_id, message="second"
            ),
        )
    assert failure.value.code.value == "unavailable"
    assert len(_describe(client, started.conversation_id).conversation.messages) == 2


def test_the_generated_client_raises_twirp_errors(client):
    with pytest.raises(TwirpServerException) as failure:
        _describe(client, "507f1f77bcf86cd799439011")
    assert failure.value.code.value == "not_found"
    with pytest.raises(TwirpServerException) as failure:
        _start(client, "  ")
    assert failure.value.code.value == "invalid_argument"
    assert failure.value.meta == {"argument": "message"}


def test_fifty_concurrent_turns_on_one_conversation_lose_and_duplicate_nothing(client):
    started = _start(client, "count with me")

    def turn(i: int) -> str:
        request = pb.ContinueConversationRequest(
            conversation_id=started.conversation_id, message=f"turn {i}"
        )
        return client.ContinueConversation(ctx=Context(), request=request).reply

    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(turn, range(50)))
    assert replies == [f"echo: turn {i}" for i in range(50)]

    messages = _describe(client, started.conversation_id, page_size=1000).conversation.messages
    assert len(messages) == 2 + 100
    pairs = [(messages[i], messages[i + 1]) for i in range(2, len(messages), 2)]
    for user, assistant in pairs:
        assert user.role == pb.Conversation.USER
        assert assistant.role == pb.Conversation.ASSISTANT
        assert assistant.content == f"echo: {user.content}"
    assert sorted(user.content for user, _ in pairs) == sorted(f"turn {i}" for i in range(50))
    assert len({m.id for m in messages}) == len(messages)


def test_list_is_newest_first_paged_and_without_messages(client, rpc):
    ids = [_start(client, f"conversation {i}").conversation_id for i in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = rpc("ListConversations", {"page_size": 2, "page_token": token}).json()
        assert len(page["conversations"]) <= 2
        assert all(c["messages"] == [] for c in page["conversations"])
        seen += [c["id"] for c in page["conversations"]]
        token = page["next_page_token"]
        if not token:
            break
    assert len(seen) == len(set(seen))
    mine = [i for i in seen if i in ids]
    assert mine == list(reversed(ids))


def test_describe_pages_through_messages_oldest_first(client):
    started = _start(client, "m0")
    for i in range(1, 4):
        client.ContinueConversation(
            ctx=Context(),
            request=pb.ContinueConversationRequest(
                conversation_id=started.conversation_id, message=f"m{i}"
            ),
        )
    contents: list[str] = []
    token = ""
    while True:
        page = _describe(client, started.conversation_id, page_size=3, page_token=token)
        assert len(page.conversation.messages) <= 3
        contents += [m.content for m in page.conversation.messages]
        token = page.next_page_token
        if not token:
            break
    assert contents == [x for i in range(4) for x in (f"m{i}", f"echo: m{i}")]
