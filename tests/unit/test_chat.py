"""The chat use cases over the in-memory repository and a scripted model (no sockets)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest

from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.chat import Chat
from chat_service.core.errors import ConversationNotFound, InvalidRequest, ModelUnavailable
from chat_service.core.models import (
    ContinuedConversation,
    ContinueTurn,
    Role,
    SessionInfo,
    StartTurn,
)
from chat_service.core.usage import UsageTotals
from chat_service.ports.chat_model import Completion, PromptRole
from tests.fakes.assistant_kit import make_assistant
from tests.fakes.clock import FakeClock
from tests.fakes.memory_repository import InMemoryConversationRepository
from tests.fakes.scripted_model import ScriptedChatModel


@pytest.fixture
def model():
    return ScriptedChatModel()


@pytest.fixture
def repository():
    return InMemoryConversationRepository()


@pytest.fixture
def chat(model, repository):
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield Chat(
            repository,
            CachedAnswers.uncached(make_assistant(model, system_prompt="be nice")),
            clock=FakeClock(step=timedelta(seconds=1)).wall,
            executor=executor,
            max_message_chars=100,
            history_messages=4,
        )


def _is_title(call) -> bool:
    return "title" in call.messages[0].content.lower()


def test_start_stores_both_messages_with_title_and_session(chat, repository, model):
    session = SessionInfo("telegram", "u1", "c1")
    started = chat.start(StartTurn(owner="alice", message="hello NASA", session=session))
    assert started.reply == "echo: hello NASA"
    conversation = repository.get(owner="alice", conversation_id=started.conversation_id)
    assert conversation.title == started.title
    assert conversation.session == session
    assert conversation.message_count == 2
    page = repository.list_messages(
        owner="alice", conversation_id=started.conversation_id, page_size=10, page_token=""
    )
    assert [(m.role, m.content) for m in page.messages] == [
        (Role.USER, "hello NASA"),
        (Role.ASSISTANT, "echo: hello NASA"),
    ]
    reply_call = next(c for c in model.calls if not _is_title(c))
    assert reply_call.messages[0].role == PromptRole.SYSTEM
    assert reply_call.messages[0].content.startswith("be nice\n\nCurrent date: ")


def test_a_failing_title_falls_back_to_the_message_and_the_turn_goes_on(repository):
    def responder(messages):
        if "title" in messages[0].content.lower():
            raise ModelUnavailable("title model down")
        return Completion("fine")

    model = ScriptedChatModel(responder=responder)
    with ThreadPoolExecutor(max_workers=2) as executor:
        chat = Chat(
            repository,
            CachedAnswers.uncached(make_assistant(model)),
            clock=FakeClock(step=timedelta(seconds=1)).wall,
            executor=executor,
        )
        started = chat.start(StartTurn(owner="o", message="weather in paris tomorrow"))
    assert started.reply == "fine"
    assert started.title.lower().startswith("weather in paris")


def test_a_failing_reply_stores_nothing(chat, repository, model):
    model.responder = lambda messages: (
        Completion("T") if "title" in messages[0].content.lower() else _raise()
    )
    with pytest.raises(ModelUnavailable):
        chat.start(StartTurn(owner="o", message="hi"))
    assert repository.list_conversations(owner="o", page_size=10, page_token="").conversations == ()


def _raise():
    raise ModelUnavailable("down")


def test_an_empty_reply_is_unavailable_not_stored(chat, repository, model):
    model.responder = lambda messages: Completion("  ")
    with pytest.raises(ModelUnavailable):
        chat.start(StartTurn(owner="o", message="hi"))
    assert repository.list_conversations(owner="o", page_size=10, page_token="").conversations == ()


def test_continue_sends_a_bounded_history_and_appends_the_pair(chat, repository, model):
    cid = chat.start(StartTurn(owner="o", message="m0")).conversation_id
    for i in range(1, 4):
        continued = chat.continue_turn(ContinueTurn("o", cid, f"m{i}"))
        assert replace(continued, usage=UsageTotals()) == ContinuedConversation(cid, f"echo: m{i}")
        assert [c.operation for c in continued.usage.calls] == ["reply"]
    last = model.calls[-1].messages
    # system prompt + the last 4 stored messages (whole turns) + the new one
    assert [m.content for m in last[1:]] == ["m1", "echo: m1", "m2", "echo: m2", "m3"]
    assert repository.get(owner="o", conversation_id=cid).message_count == 8


@pytest.mark.parametrize(
    ("message", "argument"), [("", "message"), (" \n", "message"), ("x" * 101, "message")]
)
def test_invalid_messages_are_rejected_before_any_work(chat, model, message, argument):
    with pytest.raises(InvalidRequest) as error:
        chat.start(StartTurn(owner="o", message=message))
    assert error.value.argument == argument
    assert model.calls == []


@pytest.mark.parametrize("conversation_id", ["", "xyz", "507f1f77bcf86cd79943901g"])
def test_invalid_ids_are_invalid_requests(chat, conversation_id):
    with pytest.raises(InvalidRequest) as error:
        chat.continue_turn(ContinueTurn("o", conversation_id, "hi"))
    assert error.value.argument == "conversation_id"


def test_another_owners_conversation_is_not_found(chat):
    cid = chat.start(StartTurn(owner="alice", message="secret")).conversation_id
    with pytest.raises(ConversationNotFound):
        chat.continue_turn(ContinueTurn("mallory", cid, "let me in"))
    with pytest.raises(ConversationNotFound):
        chat.describe(owner="mallory", conversation_id=cid, page_size=0, page_token="")


def test_page_sizes_default_cap_and_reject_negatives(chat):
    for i in range(3):
        chat.start(StartTurn(owner="o", message=f"c{i}"))
    assert len(chat.list_conversations(owner="o", page_size=0, page_token="").conversations) == 3
    assert (
        len(chat.list_conversations(owner="o", page_size=10**6, page_token="").conversations) == 3
    )
    with pytest.raises(InvalidRequest) as error:
        chat.list_conversations(owner="o", page_size=-1, page_token="")
    assert error.value.argument == "page_size"
