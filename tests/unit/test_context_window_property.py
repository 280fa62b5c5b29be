"""Property: whatever the stored history, every request the assistant sends is valid for both
providers' wire rules and within the token budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_service.adapters.llm.anthropic_model import wire_request
from chat_service.adapters.llm.openai_model import wire_message
from chat_service.core.context_window import ContextOverflow
from chat_service.core.models import Message, Role, ToolCall
from chat_service.ports.chat_model import Completion
from tests.fakes.anthropic_wire import request_problems
from tests.fakes.assistant_kit import counter, make_assistant
from tests.fakes.openai_wire import chat_request_problems
from tests.fakes.scripted_model import ScriptedChatModel

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TOKENS = counter()


class Echo:
    name = "echo"
    description = "Echoes."
    parameters: ClassVar[dict] = {"type": "object", "properties": {"text": {"type": "string"}}}

    def run(self, arguments):
        return json.dumps(arguments)


words = st.integers(min_value=0, max_value=120).map(lambda n: " ".join(["lorem"] * n))
step = st.lists(words, min_size=1, max_size=3)  # one tool-calling step: the results' texts
group = st.tuples(words, st.lists(step, max_size=2), words)  # user, steps, answer


def _stored(groups) -> list[Message]:
    messages: list[Message] = []

    def add(role, content, **extra):
        messages.append(
            Message(f"m{len(messages)}", "c", len(messages), role, content, NOW, **extra)
        )

    for g, (user, steps, answer) in enumerate(groups):
        add(Role.USER, f"q{g} {user}")
        for s, results in enumerate(steps):
            calls = tuple(ToolCall(f"c{g}_{s}_{i}", "echo", "{}") for i in range(len(results)))
            add(Role.ASSISTANT, "", tool_calls=calls)
            for call, text in zip(calls, results, strict=True):
                add(Role.TOOL, text, tool_call_id=call.id, tool_name="echo")
        add(Role.ASSISTANT, f"a{g} {answer or 'ok'}")
    return messages


def _check_request(messages, tools, budget):
    openai_body = {"messages": [wire_message(m) for m in messages]}
    assert chat_request_problems(openai_body) == []
    _system, wire = wire_request(messages)
    assert request_problems({"model": "m", "max_tokens": 1, "messages": wire}) == []
    assert TOKENS.messages(messages) + TOKENS.tools(tools) <= budget


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    groups=st.lists(group, max_size=12),
    skip=st.integers(min_value=0, max_value=6),
    budget=st.integers(min_value=700, max_value=4000),
    current_steps=st.integers(min_value=0, max_value=2),
)
def test_every_request_is_valid_for_both_providers_and_within_budget(
    groups, skip, budget, current_steps
):
    history = _stored(groups)[skip:]  # a read that starts inside a turn group
    steps = [
        Completion("", (ToolCall(f"now{i}", "echo", json.dumps({"text": f"round {i}"})),))
        for i in range(current_steps)
    ]
    model = ScriptedChatModel(*steps, responder=lambda messages: Completion("summary or answer"))
    reply_tokens = 200
    assistant = make_assistant(
        model, [Echo()], max_context_tokens=budget + reply_tokens, reply_max_tokens=reply_tokens
    )
    try:
        reply = assistant.reply(history, "the question now")
    except ContextOverflow:
        return  # only when the pinned prompt and the current turn alone exceed the budget
    assert reply.content == "summary or answer"
    for call in model.calls:
        _check_request(call.messages, call.tools, budget)
    if reply.summary is not None:
        assert 0 <= reply.summary.first_seq < reply.summary.end_seq <= len(history) + skip
