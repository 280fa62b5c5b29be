"""The assistant's tool loop over a scripted model and in-process tools (no sockets)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from chat_service.core.errors import ModelUnavailable, RepeatedToolCall, ToolRoundsExhausted
from chat_service.core.models import Message, Role, Summary, ToolCall
from chat_service.core.prompts import SUMMARY_HEADING, SUMMARY_INSTRUCTION
from chat_service.ports.chat_model import Completion, PromptRole, Usage
from tests.fakes.assistant_kit import make_assistant
from tests.fakes.scripted_model import ScriptedChatModel
from tools.clock import ClockTool
from tools.registry import ToolError


class Lookup:
    name = "lookup"
    description = "Looks a key up."
    parameters: ClassVar[dict] = {
        "type": "object",
        "properties": {"key": {"type": "string"}},
        "required": ["key"],
    }

    def __init__(self, *, barrier=None, fail_on=None):
        self.barrier = barrier
        self.fail_on = fail_on

    def run(self, arguments):
        if self.barrier is not None:
            self.barrier.wait()
        if arguments["key"] == self.fail_on:
            raise ToolError(f"{self.fail_on} is down")
        return json.dumps({"value": arguments["key"].upper()})


def _calls(*pairs) -> Completion:
    return Completion(
        "",
        tuple(
            ToolCall(f"call_{name}_{i}", name, json.dumps(args))
            for i, (name, args) in enumerate(pairs)
        ),
        Usage(5, 1),
    )


def test_two_rounds_of_tools_then_an_answer_are_returned_in_order():
    model = ScriptedChatModel(
        _calls(("get_date_time", {})),
        _calls(("lookup", {"key": "a"}), ("lookup", {"key": "b"})),
        Completion("A and B.", usage=Usage(7, 2)),
    )
    clock = ClockTool(lambda: datetime(2026, 11, 25, 9, tzinfo=UTC))
    reply = make_assistant(model, [clock, Lookup()]).reply([], "what are a and b?")
    assert reply.content == "A and B."
    assert reply.usage == Usage(17, 4)
    assert [(m.role, m.tool_name, len(m.tool_calls)) for m in reply.messages] == [
        (Role.ASSISTANT, "", 1),
        (Role.TOOL, "get_date_time", 0),
        (Role.ASSISTANT, "", 2),
        (Role.TOOL, "lookup", 0),
        (Role.TOOL, "lookup", 0),
        (Role.ASSISTANT, "", 0),
    ]
    assert json.loads(reply.messages[1].content)["today"] == "2026-11-25"
    assert [m.content for m in reply.messages[3:5]] == ['{"value": "A"}', '{"value": "B"}']
    last_prompt = model.calls[-1].messages
    assert [m.role for m in last_prompt] == [
        PromptRole.SYSTEM,
        PromptRole.USER,
        PromptRole.ASSISTANT,
        PromptRole.TOOL,
        PromptRole.ASSISTANT,
        PromptRole.TOOL,
        PromptRole.TOOL,
    ]
    assert [m.tool_call_id for m in last_prompt[-2:]] == ["call_lookup_0", "call_lookup_1"]
    assert [t.name for t in model.calls[0].tools] == ["get_date_time", "lookup"]


def test_the_system_prompt_names_the_date_and_the_tools():
    model = ScriptedChatModel("hi")
    make_assistant(model, [Lookup()]).reply([], "hello")
    system = model.calls[0].messages[0].content
    assert "Current date: Wednesday, 25 November 2026 (UTC)." in system
    assert "09:30" not in system  # the time of day comes from a tool, never from the prompt
    assert "- lookup: Looks a key up." in system


def test_the_calls_of_one_step_run_in_parallel():
    barrier = threading.Barrier(3, timeout=5)  # opens only if all three run at once
    model = ScriptedChatModel(
        _calls(("lookup", {"key": "x"}), ("lookup", {"key": "y"}), ("lookup", {"key": "z"})), "done"
    )
    reply = make_assistant(model, [Lookup(barrier=barrier)]).reply([], "three at once")
    assert [m.content for m in reply.messages if m.role is Role.TOOL] == [
        '{"value": "X"}',
        '{"value": "Y"}',
        '{"value": "Z"}',
    ]


def test_a_failing_tool_goes_back_to_the_model_as_its_result():
    model = ScriptedChatModel(
        _calls(("lookup", {"key": "weather"})), "The weather service is down."
    )
    reply = make_assistant(model, [Lookup(fail_on="weather")]).reply([], "weather?")
    assert reply.messages[1].content == '{"error": "weather is down"}'
    assert model.calls[-1].messages[-1].content == '{"error": "weather is down"}'
    assert reply.content == "The weather service is down."


def test_running_out_of_rounds_is_a_named_error():
    steps = [_calls(("lookup", {"key": str(i)})) for i in range(10)]
    model = ScriptedChatModel(*steps)
    with pytest.raises(ToolRoundsExhausted, match="within 2 rounds"):
        make_assistant(model, [Lookup()], max_tool_rounds=2).reply([], "loop forever")
    assert len(model.calls) == 3


def test_an_identical_call_in_a_later_round_is_refused():
    model = ScriptedChatModel(
        _calls(("lookup", {"key": "a"})),
        Completion("", (ToolCall("other_id", "lookup", '{ "key" : "a" }'),)),
    )
    with pytest.raises(RepeatedToolCall, match="'lookup'"):
        make_assistant(model, [Lookup()]).reply([], "again and again")


def test_an_empty_final_answer_is_unavailable():
    with pytest.raises(ModelUnavailable, match="empty reply"):
        make_assistant(ScriptedChatModel(" ")).reply([], "hi")


def _history(turns: int, words: int) -> list[Message]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    messages = []
    for i in range(turns):
        text = " ".join(["word"] * words)
        messages.append(Message(f"u{i}", "c", 2 * i, Role.USER, f"question {i} {text}", now))
        messages.append(Message(f"a{i}", "c", 2 * i + 1, Role.ASSISTANT, f"answer {i} {text}", now))
    return messages


def _summaries_first(messages):
    if messages[0].content == SUMMARY_INSTRUCTION:
        return Completion("They asked questions 0 to N.")
    return Completion("fine")


def test_history_beyond_the_budget_is_summarized_with_its_range():
    model = ScriptedChatModel(responder=_summaries_first)
    assistant = make_assistant(model, max_context_tokens=1500, reply_max_tokens=200)
    reply = assistant.reply(_history(20, 100), "and now?")
    assert reply.summary is not None
    assert reply.summary.first_seq == 0
    assert reply.summary.content == "They asked questions 0 to N."
    summary_call, answer_call = model.calls
    assert summary_call.messages[0].content == SUMMARY_INSTRUCTION
    sent = answer_call.messages
    assert sent[1].content == f"{SUMMARY_HEADING}\nThey asked questions 0 to N."
    first_kept = int(sent[2].content.split()[1])
    assert sent[2].role is PromptRole.USER
    assert reply.summary.end_seq == 2 * first_kept  # the summary ends where the kept turns start
    assert f"User: question {first_kept - 1}" in summary_call.messages[1].content


def test_an_existing_summary_is_pinned_and_extended():
    model = ScriptedChatModel(responder=_summaries_first)
    previous = Summary("Earlier they talked about Rome.", first_seq=0, end_seq=10)
    history = [m for m in _history(20, 100) if m.seq >= 10]
    reply = make_assistant(model, max_context_tokens=1500, reply_max_tokens=200).reply(
        history, "more", summary=previous
    )
    assert "Summary so far:\nEarlier they talked about Rome." in model.calls[0].messages[1].content
    assert reply.summary is not None
    assert (reply.summary.first_seq, reply.summary.end_seq > 10) == (0, True)


def test_a_failed_summary_leaves_the_turn_going_without_one():
    def responder(messages):
        if messages[0].content == SUMMARY_INSTRUCTION:
            raise ModelUnavailable("down")
        return Completion("still fine")

    model = ScriptedChatModel(responder=responder)
    reply = make_assistant(model, max_context_tokens=1500, reply_max_tokens=200).reply(
        _history(20, 100), "and now?"
    )
    assert (reply.content, reply.summary) == ("still fine", None)
