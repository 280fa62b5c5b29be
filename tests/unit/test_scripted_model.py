"""ScriptedChatModel: queued steps in order, recorded calls, raised exceptions."""

from __future__ import annotations

import pytest

from chat_service.ports.chat_model import (
    ChatMessage,
    ChatModel,
    Completion,
    ModelUnavailable,
    PromptRole,
    ToolSpec,
)
from tests.fakes.scripted_model import ModelCall, ScriptedChatModel, Streamed

HI = [ChatMessage(PromptRole.USER, "hi")]


def test_answers_steps_in_order_then_echoes():
    model: ChatModel = ScriptedChatModel("one", Completion("two", model="m"))

    answers = [model.complete(HI).content for _ in range(3)]

    assert answers == ["one", "two", "echo: hi"]


def test_raises_scripted_exceptions():
    model = ScriptedChatModel(ModelUnavailable("down"))

    with pytest.raises(ModelUnavailable, match="down"):
        model.complete(HI)
    assert model.pending == 0


def test_records_calls():
    model = ScriptedChatModel(name="fake")
    tool = ToolSpec("clock", "The time.")

    model.complete(HI, tools=[tool], max_tokens=9)

    assert model.name == "fake"
    assert model.calls == [ModelCall(tuple(HI), (tool,), 9)]


def test_streams_a_completion_word_by_word():
    model = ScriptedChatModel(Completion("one two  three", model="m"))
    deltas: list[str] = []

    completion = model.complete(HI, on_text=deltas.append)

    assert deltas == ["one", " two", "  three"]
    assert completion.content == "".join(deltas)
    assert model.calls[0].streamed


def test_streams_scripted_deltas():
    model = ScriptedChatModel(Streamed("Hello, world", deltas=("Hel", "lo, ", "world")))
    deltas: list[str] = []

    assert model.complete(HI, on_text=deltas.append).content == "Hello, world"
    assert deltas == ["Hel", "lo, ", "world"]


def test_deltas_must_make_up_the_content():
    with pytest.raises(ValueError, match="concatenate"):
        Streamed("Hello", deltas=("Hel", "p"))


def test_a_stream_breaks_after_n_deltas():
    model = ScriptedChatModel(Streamed("a b c d", fail_after=2), Streamed("x", fail_after=1))
    deltas: list[str] = []

    with pytest.raises(ModelUnavailable, match="broke"):
        model.complete(HI, on_text=deltas.append)
    with pytest.raises(ModelUnavailable):
        model.complete(HI)  # without a sink a broken stream fails at once

    assert deltas == ["a", " b"]


class Cancelled(Exception):
    """What a cancelled turn's sink raises."""


def test_an_exception_from_the_sink_propagates_and_stops_the_stream():
    model = ScriptedChatModel("a b c d")
    deltas: list[str] = []

    def sink(text: str) -> None:
        deltas.append(text)
        raise Cancelled

    with pytest.raises(Cancelled):
        model.complete(HI, on_text=sink)

    assert deltas == ["a"]
