"""Streamed turns in the core: event numbering, exactly one terminal event, tool and title
events, stops (here and from another worker), a reused answer replayed, the log down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chat_service.adapters.memory.turn_events import MemoryTurnEventLog, MemoryTurnRecords
from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.chat import Chat
from chat_service.core.errors import (
    InvalidRequest,
    ModelUnavailable,
    TurnCancelled,
    TurnNotFound,
)
from chat_service.core.models import CANCELLED, ContinueTurn, Role, StartTurn, ToolCall
from chat_service.core.turn_control import TurnControl
from chat_service.core.turn_events import (
    TextDelta,
    TurnCompleted,
    TurnEvent,
    new_turn_id,
)
from chat_service.core.turn_publisher import RunningTurns, TurnPublisher
from chat_service.ports.chat_model import Completion, Usage
from tests.fakes.assistant_kit import make_assistant
from tests.fakes.clock import FakeClock
from tests.fakes.memory_cache import InMemoryResponseCache
from tests.fakes.memory_repository import InMemoryConversationRepository
from tests.fakes.scripted_model import ScriptedChatModel, Streamed
from tools.clock import ClockTool


class Turn:
    """One streamed turn's publisher with what it delivered locally."""

    def __init__(self, log: MemoryTurnEventLog, records: MemoryTurnRecords, owner="alice"):
        self.delivered: list[Any] = []  # TurnEvents; Any: the tests read each kind's fields
        self.hooks: list = []
        self.publisher = TurnPublisher(
            new_turn_id(), owner, log=log, records=records, deliver=self._deliver
        )

    def _deliver(self, event: TurnEvent) -> None:
        self.delivered.append(event)
        for hook in self.hooks:
            hook(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.delivered]

    def text(self) -> str:
        return "".join(e.body.text for e in self.delivered if isinstance(e.body, TextDelta))


@pytest.fixture
def model():
    return ScriptedChatModel()


@pytest.fixture
def repository():
    return InMemoryConversationRepository()


@pytest.fixture
def log():
    return MemoryTurnEventLog()


@pytest.fixture
def records():
    return MemoryTurnRecords()


@pytest.fixture
def executor():
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield pool


def _chat(model, repository, executor, cache=None) -> Chat:
    assistant = make_assistant(model, [ClockTool(lambda: datetime(2026, 1, 1, tzinfo=UTC))])
    answers = (
        CachedAnswers(assistant, cache, ttl_s=60)
        if cache is not None
        else CachedAnswers.uncached(assistant)
    )
    return Chat(
        repository,
        answers,
        clock=FakeClock(step=timedelta(seconds=1)).wall,
        executor=executor,
    )


@pytest.fixture
def chat(model, repository, executor):
    return _chat(model, repository, executor)


@pytest.fixture
def conversation(chat) -> str:
    """A conversation of alice's (its title and first reply unscripted: the echo)."""
    return chat.start(StartTurn(owner="alice", message="first")).conversation_id


def cont(chat, conversation: str, message: str):
    """Continues `conversation` (no title: the scripted steps all go to the reply)."""
    return lambda p: chat.continue_turn(ContinueTurn("alice", conversation, message), progress=p)


def run(turn: Turn, call) -> None:
    """Runs a turn as the stream edge does: its terminal event from its outcome."""
    publisher = turn.publisher
    try:
        outcome = call(publisher)
    except TurnCancelled as stop:
        publisher.cancelled(stop.conversation_id, stop.partial_text)
    except Exception as exc:
        publisher.failed(type(exc).__name__, str(exc), {})
    else:
        publisher.completed(
            TurnCompleted("start", outcome.conversation_id, outcome.reply, outcome.title, True)
        )


def test_a_turns_events_are_numbered_from_one_and_end_with_one_terminal(chat, model, log, records):
    turn = Turn(log, records)
    run(turn, lambda p: chat.start(StartTurn(owner="alice", message="hi there"), progress=p))
    assert [e.seq for e in turn.delivered] == list(range(1, len(turn.delivered) + 1))
    assert turn.kinds()[0] == "started"
    assert sorted(turn.kinds()) == sorted(
        ["started", "title", "delta", "delta", "delta", "completed"]
    )
    assert turn.kinds()[-1] == "completed"
    assert turn.text() == "echo: hi there"
    assert log.read_after(turn.publisher.turn_id, 0) == turn.delivered
    assert log.read_after(turn.publisher.turn_id, 4) == turn.delivered[4:]
    ended = records.find(turn.publisher.turn_id)
    assert ended is not None
    assert (ended.owner, ended.terminal) == ("alice", turn.delivered[-1])
    assert turn.publisher.turn_id in log.closed
    # A second terminal event is dropped: the turn's stream has exactly one.
    turn.publisher.failed("internal", "late", {})
    assert turn.kinds().count("completed") == 1
    assert len(turn.delivered) == 6


def test_the_first_event_is_logged_with_owner_and_conversation_before_anyone_sees_it(
    chat, model, log, records
):
    turn = Turn(log, records, owner="bob")
    seen_then: list[tuple[object, ...]] = []
    turn.hooks.append(
        lambda event: (
            seen_then.append(
                (
                    event.seq,
                    log.owner(event.turn_id),
                    log.running_turn(event.body.conversation_id),
                    log.read_after(event.turn_id, 0)[:1] == [event],
                )
            )
            if event.seq == 1
            else None
        )
    )
    run(turn, lambda p: chat.start(StartTurn(owner="bob", message="hi there"), progress=p))
    assert seen_then == [(1, "bob", turn.publisher.turn_id, True)]


def test_tool_calls_are_reported_and_only_reply_rounds_stream(
    chat, model, log, records, conversation
):
    model.script(
        Completion("", (ToolCall("call_1", "get_date_time", "{}"),), Usage(1, 1)),
        Streamed("It is 2026.", deltas=("It is", " 2026.")),
    )
    calls = len(model.calls)
    turn = Turn(log, records)
    run(turn, cont(chat, conversation, "what year?"))
    started = [e.body for e in turn.delivered if e.kind == "tool_call_started"]
    finished = [e.body for e in turn.delivered if e.kind == "tool_call_finished"]
    assert [(b.id, b.name, b.arguments) for b in started] == [("call_1", "get_date_time", "{}")]
    assert [(b.id, b.ok, b.error) for b in finished] == [("call_1", True, "")]
    kinds = turn.kinds()
    assert (
        kinds.index("tool_call_started") < kinds.index("tool_call_finished") < kinds.index("delta")
    )
    assert turn.text() == "It is 2026."
    assert [c.streamed for c in model.calls[calls:]] == [True, True]


def test_a_failed_tool_call_names_its_error(chat, model, log, records, conversation):
    model.script(
        Completion("", (ToolCall("call_9", "no_such_tool", "{}"),)),
        "Sorry.",
    )
    turn = Turn(log, records)
    run(turn, cont(chat, conversation, "x"))
    finished = next(e.body for e in turn.delivered if e.kind == "tool_call_finished")
    assert finished.ok is False
    assert finished.error


def test_a_stop_here_stores_what_was_sent_as_a_cancelled_reply(
    chat, model, repository, log, records
):
    first = chat.start(StartTurn(owner="alice", message="first"))
    model.script(Streamed("one two three four", deltas=("one", " two", " three", " four")))
    turn = Turn(log, records)
    deltas = []

    def stop_after_two(event: TurnEvent) -> None:
        if event.kind == "delta":
            deltas.append(event)
            if len(deltas) == 2:
                turn.publisher.stop()

    turn.hooks.append(stop_after_two)
    command = ContinueTurn(owner="alice", conversation_id=first.conversation_id, message="count")
    run(turn, lambda p: chat.continue_turn(command, progress=p))
    terminal = turn.delivered[-1]
    assert terminal.kind == "cancelled"
    assert terminal.body.partial_text == "one two" == turn.text()
    assert terminal.body.conversation_id == first.conversation_id
    messages = repository.recent_messages(
        owner="alice", conversation_id=first.conversation_id, limit=10
    )
    assert [(m.role, m.content, m.finish_reason) for m in messages[2:]] == [
        (Role.USER, "count", ""),
        (Role.ASSISTANT, "one two", CANCELLED),
    ]
    # The next turn sees the stopped reply in its history.
    chat.continue_turn(ContinueTurn("alice", first.conversation_id, "and then?"))
    assert [m.content for m in model.calls[-1].messages[1:]] == [
        "first",
        "echo: first",
        "count",
        "one two",
        "and then?",
    ]


def test_a_stop_from_another_worker_arrives_through_the_log(
    chat, model, repository, log, records, conversation
):
    model.script(Streamed("a b c d", deltas=("a", " b", " c", " d")))
    turn = Turn(log, records)
    turn.hooks.append(
        lambda e: log.request_stop(e.turn_id) if e.kind == "delta" and e.body.text == "a" else None
    )
    run(turn, cont(chat, conversation, "go"))
    terminal = turn.delivered[-1]
    assert terminal.kind == "cancelled"
    # The append of a delta reads the stop: that delta is sent, then the stream stops.
    assert terminal.body.partial_text == "a" == turn.text()
    stored = repository.get(owner="alice", conversation_id=conversation)
    assert stored.message_count == 4


def test_a_stop_before_any_text_stores_nothing(chat, model, repository, log, records):
    turn = Turn(log, records)
    turn.hooks.append(lambda e: turn.publisher.stop() if e.kind == "started" else None)
    run(turn, lambda p: chat.start(StartTurn(owner="alice", message="never"), progress=p))
    assert turn.delivered[-1].kind == "cancelled"
    assert turn.delivered[-1].body.partial_text == ""
    assert (
        repository.list_conversations(owner="alice", page_size=10, page_token="").conversations
        == ()
    )


def test_a_provider_failing_mid_stream_fails_the_turn_and_stores_nothing(
    chat, model, repository, log, records, conversation
):
    model.script(Streamed("half of it", fail_after=1))
    turn = Turn(log, records)
    run(turn, cont(chat, conversation, "x"))
    assert turn.kinds()[-1] == "failed"
    assert turn.delivered[-1].body.code == ModelUnavailable.__name__
    assert turn.text() == "half"
    assert repository.get(owner="alice", conversation_id=conversation).message_count == 2


def test_a_reused_answer_is_replayed_as_a_short_stream(model, repository, executor, log, records):
    chat = _chat(model, repository, executor, cache=InMemoryResponseCache())
    long_reply = " ".join(f"word{i}" for i in range(40))
    model.responder = lambda messages: Completion(long_reply)
    chat.start(StartTurn(owner="alice", message="same"))
    calls = len(model.calls)
    turn = Turn(log, records)
    run(turn, lambda p: chat.start(StartTurn(owner="alice", message="same"), progress=p))
    assert len(model.calls) == calls  # title and reply both from the cache
    deltas = [e.body.text for e in turn.delivered if e.kind == "delta"]
    assert 1 < len(deltas) < 10
    assert "".join(deltas) == long_reply
    assert turn.kinds()[-1] == "completed"


def test_the_turn_goes_on_when_the_log_is_down(chat, model, repository, log, records):
    turn = Turn(log, records)
    log.unavailable = True
    run(turn, lambda p: chat.start(StartTurn(owner="alice", message="no redis"), progress=p))
    assert turn.kinds()[-1] == "completed"
    assert turn.text() == "echo: no redis"
    assert records.find(turn.publisher.turn_id).terminal == turn.delivered[-1]


def test_turn_control_stops_here_elsewhere_and_refuses_others(log, records):
    running = RunningTurns()
    control = TurnControl(running, log, records)
    here = Turn(log, records)
    running.add(here.publisher)
    here.publisher.started("a" * 24, new_conversation=False, title="")
    assert control.cancel(owner="alice", turn_id="", conversation_id="a" * 24).cancelled
    with pytest.raises(TurnCancelled):
        here.publisher.checkpoint()
    with pytest.raises(TurnNotFound):
        control.cancel(owner="bob", turn_id=here.publisher.turn_id, conversation_id="")
    elsewhere = Turn(log, records)  # runs in another worker: not in `running`
    elsewhere.publisher.started("b" * 24, new_conversation=False, title="")
    outcome = control.cancel(owner="alice", turn_id="", conversation_id="b" * 24)
    assert outcome.cancelled
    assert outcome.turn_id == elsewhere.publisher.turn_id
    with pytest.raises(TurnCancelled):
        elsewhere.publisher.text("x")  # its next append reads the stop
    with pytest.raises(TurnNotFound):
        control.cancel(owner="bob", turn_id=elsewhere.publisher.turn_id, conversation_id="")
    elsewhere.publisher.cancelled("b" * 24, "x")
    ended = control.cancel(owner="alice", turn_id=elsewhere.publisher.turn_id, conversation_id="")
    assert not ended.cancelled
    with pytest.raises(TurnNotFound):
        control.cancel(owner="alice", turn_id=new_turn_id(), conversation_id="")
    with pytest.raises(TurnNotFound):
        control.cancel(owner="alice", turn_id="", conversation_id="c" * 24)
    for turn_id, conversation_id in (("", ""), ("zz", ""), ("", "not-an-id")):
        with pytest.raises(InvalidRequest):
            control.cancel(owner="alice", turn_id=turn_id, conversation_id=conversation_id)


def test_the_memory_log_keeps_the_newest_events_of_a_turn():
    turn_id = new_turn_id()
    log = MemoryTurnEventLog(max_events=2)
    for seq in range(1, 5):
        log.append(TurnEvent(turn_id, seq, TextDelta(str(seq))))
    assert [e.seq for e in log.read_after(turn_id, 0)] == [3, 4]
