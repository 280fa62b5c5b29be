"""Sessions end to end: a stateless bot continues a conversation by its chat, never by id."""

from __future__ import annotations

import uuid

import pytest
from twirp.context import Context
from twirp.exceptions import TwirpServerException

from gen.acai.chat import chat_pb2 as pb


@pytest.fixture
def chat_session():
    return pb.SessionMetadata(platform="telegram", user_id="42", chat_id=uuid.uuid4().hex)


def _say(client, session, text):
    request = pb.ContinueConversationRequest(message=text, session_metadata=session)
    return client.ContinueConversation(ctx=Context(), request=request)


def _messages(client, conversation_id):
    request = pb.DescribeConversationRequest(conversation_id=conversation_id)
    detail = client.DescribeConversation(ctx=Context(), request=request)
    return detail.conversation, [(m.role, m.content) for m in detail.conversation.messages]


def test_the_bot_flow_keeps_one_conversation_per_chat(client, chat_session):
    first = _say(client, chat_session, "Hi, I am planning a trip")
    assert first.new_conversation
    assert first.title
    second = _say(client, chat_session, "To Lisbon")
    assert not second.new_conversation
    assert second.conversation_id == first.conversation_id
    assert second.title == ""

    conversation, messages = _messages(client, first.conversation_id)
    assert conversation.title == first.title
    assert messages == [
        (pb.Conversation.USER, "Hi, I am planning a trip"),
        (pb.Conversation.ASSISTANT, "echo: Hi, I am planning a trip"),
        (pb.Conversation.USER, "To Lisbon"),
        (pb.Conversation.ASSISTANT, "echo: To Lisbon"),
    ]


def test_end_session_then_the_next_message_starts_afresh(client, chat_session):
    first = _say(client, chat_session, "one")
    ended = client.EndSession(
        ctx=Context(), request=pb.EndSessionRequest(session_metadata=chat_session)
    )
    assert ended.conversation_id == first.conversation_id
    after = _say(client, chat_session, "two")
    assert after.new_conversation
    assert after.conversation_id != first.conversation_id


def test_start_with_session_metadata_starts_a_new_session(client, chat_session):
    before = _say(client, chat_session, "old topic")
    started = client.StartConversation(
        ctx=Context(),
        request=pb.StartConversationRequest(message="new topic", session_metadata=chat_session),
    )
    after = _say(client, chat_session, "more on the new topic")
    assert started.conversation_id != before.conversation_id
    assert after.conversation_id == started.conversation_id


def test_json_clients_get_the_new_fields_by_their_proto_names(rpc, chat_session):
    session = {"platform": "web", "chat_id": chat_session.chat_id}
    body = rpc("ContinueConversation", {"message": "hello", "session_metadata": session}).json()
    assert body["new_conversation"] is True
    assert len(body["conversation_id"]) == 24
    again = rpc("ContinueConversation", {"message": "again", "sessionMetadata": session}).json()
    assert again.pop("usage")["calls"][0]["operation"] == "reply"
    assert len(again.pop("turn_id")) == 32
    assert again == {
        "reply": "echo: again",
        "conversation_id": body["conversation_id"],
        "new_conversation": False,
        "title": "",
    }
    ended = rpc("EndSession", {"session_metadata": session})
    assert ended.status_code == 200
    assert ended.json() == {"conversation_id": body["conversation_id"]}


def test_a_continue_with_neither_id_nor_session_is_invalid(client, rpc):
    with pytest.raises(TwirpServerException) as failure:
        client.ContinueConversation(
            ctx=Context(), request=pb.ContinueConversationRequest(message="hi")
        )
    assert failure.value.code.value == "invalid_argument"
    assert failure.value.meta == {"argument": "conversation_id"}
    ended = rpc("EndSession", {"session_metadata": {"platform": "telegram"}})
    assert ended.status_code == 400
    assert ended.json()["meta"] == {"argument": "session_metadata"}
