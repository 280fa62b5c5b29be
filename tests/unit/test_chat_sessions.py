"""Session-addressed turns in the chat use cases (in-memory store, no Redis, a fake clock)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.chat import Chat
from chat_service.core.errors import InvalidRequest
from chat_service.core.models import ContinueTurn, Role, SessionInfo, StartTurn
from chat_service.core.sessions import Sessions, SessionScope
from tests.fakes.assistant_kit import make_assistant
from tests.fakes.memory_repository import InMemoryConversationRepository
from tests.fakes.memory_sessions import InMemorySessionStore
from tests.fakes.scripted_model import ScriptedChatModel

TTL = timedelta(minutes=30)
TELEGRAM = SessionInfo("telegram", "user-1", "chat-1")


@pytest.fixture
def repository():
    return InMemoryConversationRepository()


@pytest.fixture
def model():
    return ScriptedChatModel()


def make_chat(repository, model, clock, executor, scope=SessionScope.CHAT) -> Chat:
    sessions = Sessions(InMemorySessionStore(), None, ttl=TTL, scope=scope)
    return Chat(
        repository,
        CachedAnswers.uncached(make_assistant(model)),
        clock=clock.wall,
        executor=executor,
        sessions=sessions,
    )


@pytest.fixture
def chat(repository, model, clock):
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield make_chat(repository, model, clock, executor)


def say(chat, text, session=TELEGRAM, owner="bot"):
    return chat.continue_turn(ContinueTurn(owner, "", text, session=session))


def messages(repository, conversation_id):
    page = repository.list_messages(
        owner="bot", conversation_id=conversation_id, page_size=100, page_token=""
    )
    return [(m.role, m.content) for m in page.messages]


def test_a_session_without_a_conversation_starts_one_with_a_title_and_each_message_once(
    chat, repository
):
    first = say(chat, "hello there")
    assert first.new_conversation
    assert first.title
    second = say(chat, "and again")
    assert not second.new_conversation
    assert second.conversation_id == first.conversation_id
    assert messages(repository, first.conversation_id) == [
        (Role.USER, "hello there"),
        (Role.ASSISTANT, "echo: hello there"),
        (Role.USER, "and again"),
        (Role.ASSISTANT, "echo: and again"),
    ]
    conversation = repository.get(owner="bot", conversation_id=first.conversation_id)
    assert conversation.title == first.title
    assert conversation.session == TELEGRAM


def test_the_expiry_slides_with_each_turn_and_idle_time_starts_a_new_conversation(chat, clock):
    first = say(chat, "one")
    clock.advance(TTL - timedelta(seconds=1))
    assert say(chat, "two").conversation_id == first.conversation_id
    clock.advance(TTL - timedelta(seconds=1))  # an hour after the start, but active all along
    assert say(chat, "three").conversation_id == first.conversation_id
    clock.advance(TTL)
    later = say(chat, "four")
    assert later.new_conversation
    assert later.conversation_id != first.conversation_id


def test_ending_a_session_makes_the_next_message_start_afresh(chat):
    first = say(chat, "one")
    assert chat.end_session(owner="bot", session=TELEGRAM) == first.conversation_id
    assert chat.end_session(owner="bot", session=TELEGRAM) == ""
    assert say(chat, "two").conversation_id != first.conversation_id


def test_start_with_session_metadata_starts_a_new_session(chat):
    first = say(chat, "one")
    started = chat.start(StartTurn(owner="bot", message="fresh start", session=TELEGRAM))
    assert started.conversation_id != first.conversation_id
    assert say(chat, "two").conversation_id == started.conversation_id


def test_conversation_id_wins_over_session_metadata(chat):
    session_conversation = say(chat, "one").conversation_id
    other = chat.start(StartTurn(owner="bot", message="other")).conversation_id
    continued = chat.continue_turn(ContinueTurn("bot", other, "to the other", session=TELEGRAM))
    assert continued.conversation_id == other
    assert say(chat, "back").conversation_id == session_conversation


def test_per_chat_scope_shares_a_group_chat_and_per_user_scope_does_not(repository, model, clock):
    alice = SessionInfo("telegram", "alice", "group")
    bob = SessionInfo("telegram", "bob", "group")
    with ThreadPoolExecutor(max_workers=2) as executor:
        per_chat = make_chat(repository, model, clock, executor, SessionScope.CHAT)
        assert say(per_chat, "a", alice).conversation_id == say(per_chat, "b", bob).conversation_id
        per_user = make_chat(repository, model, clock, executor, SessionScope.USER)
        assert say(per_user, "a", alice).conversation_id != say(per_user, "b", bob).conversation_id


def test_owners_never_share_a_session(chat):
    assert say(chat, "a", owner="k1").conversation_id != say(chat, "b", owner="k2").conversation_id


@pytest.mark.parametrize(
    "session", [SessionInfo(), SessionInfo("telegram", "u", ""), SessionInfo("", "u", "c")]
)
def test_without_an_id_or_a_complete_session_continue_is_invalid(chat, session, model):
    with pytest.raises(InvalidRequest) as error:
        say(chat, "hi", session=session)
    assert error.value.argument == "conversation_id"
    with pytest.raises(InvalidRequest) as error:
        chat.end_session(owner="bot", session=session)
    assert error.value.argument == "session_metadata"
    assert model.calls == []


def test_per_user_scope_needs_the_user_id(repository, model, clock):
    with ThreadPoolExecutor(max_workers=2) as executor:
        chat = make_chat(repository, model, clock, executor, SessionScope.USER)
        with pytest.raises(InvalidRequest):
            say(chat, "hi", session=SessionInfo("telegram", "", "chat"))


def test_a_session_whose_conversation_vanished_starts_a_new_one(chat, repository):
    first = say(chat, "one")
    repository._conversations.pop(first.conversation_id)
    again = say(chat, "two")
    assert again.new_conversation
    assert again.conversation_id != first.conversation_id
