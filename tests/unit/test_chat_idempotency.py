"""Idempotency keys in the chat use cases: one answer, one call, one stored pair per key."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.chat import Chat
from chat_service.core.errors import InvalidRequest, ModelUnavailable
from chat_service.core.idempotency import Idempotency, KeyInUse
from chat_service.core.models import ContinueTurn, SessionInfo, StartTurn
from chat_service.core.sessions import Sessions
from chat_service.ports.chat_model import Completion
from tests.fakes.assistant_kit import make_assistant
from tests.fakes.memory_idempotency import InMemoryIdempotencyStore
from tests.fakes.memory_repository import InMemoryConversationRepository
from tests.fakes.memory_sessions import InMemorySessionStore
from tests.fakes.scripted_model import ScriptedChatModel


@pytest.fixture
def store():
    return InMemoryIdempotencyStore()


@pytest.fixture
def repository(store):
    return InMemoryConversationRepository(idempotency=store)


@pytest.fixture
def model():
    return ScriptedChatModel()


@pytest.fixture
def chat(repository, model, store, clock):
    sessions = Sessions(InMemorySessionStore(), None, ttl=timedelta(hours=1))
    idempotency = Idempotency(store, clock=clock.wall, wait_s=5, poll_s=0.01)
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield Chat(
            repository,
            CachedAnswers.uncached(make_assistant(model)),
            clock=clock.wall,
            executor=executor,
            sessions=sessions,
            idempotency=idempotency,
        )


def reply_calls(model) -> int:
    return sum("title" not in c.messages[0].content.lower() for c in model.calls)


def count_messages(repository, conversation_id) -> int:
    return repository.get(owner="o", conversation_id=conversation_id).message_count


def test_a_repeated_start_returns_the_first_result_and_stores_one_conversation(
    chat, model, repository
):
    first = chat.start(StartTurn(owner="o", message="hi", idempotency_key="k1"))
    again = chat.start(StartTurn(owner="o", message="hi", idempotency_key="k1"))
    assert again == first
    assert reply_calls(model) == 1
    assert (
        len(repository.list_conversations(owner="o", page_size=10, page_token="").conversations)
        == 1
    )


def test_a_repeated_continue_stores_one_pair(chat, model, repository):
    cid = chat.start(StartTurn(owner="o", message="hi")).conversation_id
    turn = ContinueTurn("o", cid, "more", idempotency_key="k2")
    assert chat.continue_turn(turn) == chat.continue_turn(turn)
    assert count_messages(repository, cid) == 4
    assert reply_calls(model) == 2


def test_keys_are_scoped_by_owner_and_method(chat, model):
    chat.start(StartTurn(owner="o", message="hi", idempotency_key="k"))
    chat.start(StartTurn(owner="p", message="hi", idempotency_key="k"))
    cid = chat.start(StartTurn(owner="o", message="x")).conversation_id
    chat.continue_turn(ContinueTurn("o", cid, "hi", idempotency_key="k"))
    assert reply_calls(model) == 4


def test_a_key_reused_for_another_request_is_invalid(chat):
    chat.start(StartTurn(owner="o", message="hi", idempotency_key="k"))
    with pytest.raises(InvalidRequest) as error:
        chat.start(StartTurn(owner="o", message="something else", idempotency_key="k"))
    assert error.value.argument == "idempotency_key"


def test_a_failed_turn_can_be_retried_with_the_same_key(chat, model):
    model.responder = lambda messages: Completion("fine")
    cid = chat.start(StartTurn(owner="o", message="hi")).conversation_id
    turn = ContinueTurn("o", cid, "again", idempotency_key="k")
    model.script(ModelUnavailable("down"))
    with pytest.raises(ModelUnavailable):
        chat.continue_turn(turn)
    assert chat.continue_turn(turn).reply == "fine"


def test_concurrent_repeats_wait_for_the_first_and_share_its_result(chat, model, repository):
    gate = threading.Event()

    def slow(messages):
        gate.wait(5)
        return Completion("slow answer")

    model.responder = slow
    turn = StartTurn(owner="o", message="hi", idempotency_key="same")
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(chat.start, turn) for _ in range(8)]
        threading.Timer(0.2, gate.set).start()
        results = {f.result(timeout=10) for f in futures}
    assert len(results) == 1
    assert reply_calls(model) == 1


def test_a_repeat_gives_up_waiting_with_key_in_use(repository, model, store, clock):
    idempotency = Idempotency(store, clock=clock.wall, wait_s=0.05, poll_s=0.01)
    gate = threading.Event()
    model.responder = lambda messages: (gate.wait(5), Completion("late"))[1]
    with ThreadPoolExecutor(max_workers=4) as executor:
        chat = Chat(
            repository,
            CachedAnswers.uncached(make_assistant(model)),
            clock=clock.wall,
            executor=executor,
            idempotency=idempotency,
        )
        turn = StartTurn(owner="o", message="hi", idempotency_key="busy")
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(chat.start, turn)
            while not store.records:
                time.sleep(0.001)
            with pytest.raises(KeyInUse):
                chat.start(turn)
            gate.set()
            assert first.result(timeout=10).reply == "late"


def test_a_session_turn_replays_its_new_conversation(chat, model):
    session = SessionInfo("telegram", "u", "c")
    turn = ContinueTurn("o", "", "hello", session=session, idempotency_key="s1")
    first = chat.continue_turn(turn)
    assert first.new_conversation
    assert chat.continue_turn(turn) == first
    assert reply_calls(model) == 1


def test_keys_expire(chat, model, clock):
    chat.start(StartTurn(owner="o", message="hi", idempotency_key="k"))
    clock.advance(timedelta(hours=24))
    chat.start(StartTurn(owner="o", message="hi", idempotency_key="k"))
    assert reply_calls(model) == 2


def test_an_overlong_key_is_invalid(chat):
    with pytest.raises(InvalidRequest) as error:
        chat.start(StartTurn(owner="o", message="hi", idempotency_key="k" * 201))
    assert error.value.argument == "idempotency_key"
