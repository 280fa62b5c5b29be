"""DeleteConversation and UpdateConversation end to end: the real app with keys and the
response cache on, the generated Twirp client, the real OpenAI SDK against the fake server."""

from __future__ import annotations

import threading
import time
import uuid

import pymongo
import pytest
from bson import ObjectId
from twirp.context import Context
from twirp.exceptions import TwirpServerException

from chat_service.core import prompts
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient


def _replies(fake_openai) -> list:
    """The provider's reply requests (titles left out)."""
    return [
        r
        for r in fake_openai.requests
        if not r.json["messages"][0]["content"].startswith(prompts.TITLE_INSTRUCTION)
    ]


class Caller:
    """The generated client with one owner's key."""

    def __init__(self, url: str, key: str) -> None:
        self._client = ChatServiceClient(url, timeout=30)
        self._key = key

    def __getattr__(self, method: str):
        call = getattr(self._client, method)
        ctx = Context(headers={"Authorization": f"Bearer {self._key}"})
        return lambda **fields: call(ctx=ctx, request=getattr(pb, f"{method}Request")(**fields))


@pytest.fixture
def alice(secured_app) -> Caller:
    return Caller(secured_app.url, secured_app.keys["alice"])


@pytest.fixture
def bob(secured_app) -> Caller:
    return Caller(secured_app.url, secured_app.keys["bob"])


@pytest.fixture
def database(secured_app, mongo_uri):
    with pymongo.MongoClient(mongo_uri) as client:
        yield client[secured_app.settings.mongo_database]


def _code(call) -> str:
    with pytest.raises(TwirpServerException) as raised:
        call()
    return raised.value.code.value


def test_a_deleted_conversation_is_gone_and_deleting_again_is_not_an_error(alice, database):
    kept = alice.StartConversation(message=f"keep me {uuid.uuid4().hex}")
    gone = alice.StartConversation(message=f"forget me {uuid.uuid4().hex}")
    alice.ContinueConversation(conversation_id=gone.conversation_id, message="and this")

    assert alice.DeleteConversation(conversation_id=gone.conversation_id).deleted is True

    assert _code(lambda: alice.DescribeConversation(conversation_id=gone.conversation_id)) == (
        "not_found"
    )
    listed = {c.id for c in alice.ListConversations(page_size=100).conversations}
    assert gone.conversation_id not in listed
    assert kept.conversation_id in listed
    gone_id = ObjectId(gone.conversation_id)
    assert database.messages.count_documents({"conversation_id": gone_id}) == 0
    assert alice.DeleteConversation(conversation_id=gone.conversation_id).deleted is False


def test_another_owners_conversation_is_not_found_and_untouched(alice, bob):
    started = alice.StartConversation(message=f"alice's {uuid.uuid4().hex}")

    assert _code(lambda: bob.DeleteConversation(conversation_id=started.conversation_id)) == (
        "not_found"
    )
    assert _code(
        lambda: bob.UpdateConversation(conversation_id=started.conversation_id, title="mine")
    ) == ("not_found")
    described = alice.DescribeConversation(conversation_id=started.conversation_id)
    assert described.conversation.title == started.title
    assert len(described.conversation.messages) == 2


@pytest.mark.parametrize("conversation_id", ["", "not-an-id"])
def test_bad_ids_are_invalid_arguments(alice, conversation_id):
    assert _code(lambda: alice.DeleteConversation(conversation_id=conversation_id)) == (
        "invalid_argument"
    )


def test_no_cached_answer_from_a_deleted_conversation_is_served(alice, fake_openai):
    question = f"What did I tell you about {uuid.uuid4().hex}?"
    first = alice.StartConversation(message=question)
    alice.StartConversation(message=question)
    assert len(_replies(fake_openai)) == 1  # the second start was answered from the cache

    alice.DeleteConversation(conversation_id=first.conversation_id)
    again = alice.StartConversation(message=question)

    assert len(_replies(fake_openai)) == 2  # asked the provider again
    assert again.reply == f"echo: {question}"


def test_a_turn_running_while_its_conversation_is_deleted_stores_nothing(
    alice, fake_openai, database
):
    started = alice.StartConversation(message=f"slow one {uuid.uuid4().hex}")
    fake_openai.latency_s = 1.0
    codes: list[str] = []

    def continue_turn() -> None:
        codes.append(
            _code(
                lambda: alice.ContinueConversation(
                    conversation_id=started.conversation_id, message="still there?"
                )
            )
        )

    before = len(fake_openai.requests)
    turn = threading.Thread(target=continue_turn)
    turn.start()
    deadline = time.monotonic() + 10
    while len(fake_openai.requests) == before and time.monotonic() < deadline:
        time.sleep(0.01)  # until the turn is waiting on the provider
    assert len(fake_openai.requests) > before
    alice.DeleteConversation(conversation_id=started.conversation_id)
    turn.join(timeout=30)

    assert codes == ["not_found"]
    gone_id = ObjectId(started.conversation_id)
    assert database.messages.count_documents({"conversation_id": gone_id}) == 0
    assert database.conversations.count_documents({"_id": gone_id}) == 0


def test_a_session_on_a_deleted_conversation_starts_a_new_one(alice):
    session = pb.SessionMetadata(platform="telegram", chat_id=uuid.uuid4().hex, user_id="u")
    first = alice.ContinueConversation(message="hello", session_metadata=session)
    alice.DeleteConversation(conversation_id=first.conversation_id)

    after = alice.ContinueConversation(message="hello again", session_metadata=session)

    assert after.new_conversation is True
    assert after.conversation_id != first.conversation_id


def test_rename_sets_a_title_that_describe_and_list_show(alice):
    started = alice.StartConversation(message=f"name me {uuid.uuid4().hex}")

    updated = alice.UpdateConversation(
        conversation_id=started.conversation_id, title="  Holiday plans  "
    )

    assert updated.conversation.id == started.conversation_id
    assert updated.conversation.title == "Holiday plans"
    assert list(updated.conversation.messages) == []
    described = alice.DescribeConversation(conversation_id=started.conversation_id)
    assert described.conversation.title == "Holiday plans"
    listed = {c.id: c.title for c in alice.ListConversations(page_size=100).conversations}
    assert listed[started.conversation_id] == "Holiday plans"
    alice.ContinueConversation(conversation_id=started.conversation_id, message="more")
    described = alice.DescribeConversation(conversation_id=started.conversation_id)
    assert described.conversation.title == "Holiday plans"  # turns never replace it


@pytest.mark.parametrize("title", ["", "   ", "x" * 101, "two\nlines"])
def test_a_bad_title_is_an_invalid_argument(alice, title):
    started = alice.StartConversation(message=f"keep my title {uuid.uuid4().hex}")
    assert _code(
        lambda: alice.UpdateConversation(conversation_id=started.conversation_id, title=title)
    ) == ("invalid_argument")
    described = alice.DescribeConversation(conversation_id=started.conversation_id)
    assert described.conversation.title == started.title
