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
from tests.fakes.scripted_model import ModelCall, ScriptedChatModel

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
