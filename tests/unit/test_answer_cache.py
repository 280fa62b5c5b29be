"""CachedAnswers and tool volatility over the real tool loop: what is cached, for how long,
what a hit costs and stores, and how tool results are reused."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from chat_service.core.cache.answers import CachedAnswers
from chat_service.core.cache.tool_results import (
    DEFAULT_TOOL_TTLS_S,
    ToolResultCache,
    ToolVolatility,
)
from chat_service.core.models import Message, Role, ToolCall
from chat_service.core.prompts import SUMMARY_INSTRUCTION
from chat_service.ports.chat_model import Completion, Usage
from tests.fakes.assistant_kit import FIXED_NOW, make_assistant
from tests.fakes.clock import FakeClock
from tests.fakes.memory_cache import InMemoryResponseCache
from tests.fakes.scripted_model import ScriptedChatModel
from tools.registry import ToolError

HOUR = 3600.0
VOLATILITY = ToolVolatility(DEFAULT_TOOL_TTLS_S)


class FakeTool:
    """A tool under a built-in's name that counts its runs; fails while `failing`."""

    parameters: ClassVar[dict] = {"type": "object", "properties": {"q": {"type": "string"}}}

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = f"{name} for tests"
        self.runs = 0
        self.failing = False

    def run(self, arguments):
        self.runs += 1
        if self.failing:
            raise ToolError(f"{self.name} is down")
        return json.dumps({"tool": self.name, "q": arguments.get("q", "")})


def calls(*names: str) -> Completion:
    return Completion(
        "",
        tuple(ToolCall(f"call_{i}", name, '{"q": "x"}') for i, name in enumerate(names)),
        Usage(3, 1),
    )


def tool_then_answer(*names: str):
    """A responder that calls `names` once per turn, then answers."""

    def respond(messages):
        if messages[-1].role.value == "user":
            return calls(*names)
        return Completion("answer", usage=Usage(10, 5))

    return respond


@pytest.fixture
def model():
    return ScriptedChatModel(responder=lambda m: Completion("answer", usage=Usage(10, 5)))


def answers_for(model, tools=(), cache=None, ttl_s=HOUR, tool_results=None, system_prompt=None):
    assistant = make_assistant(
        model, list(tools), tool_results=tool_results, system_prompt=system_prompt
    )
    return CachedAnswers(
        assistant,
        InMemoryResponseCache() if cache is None else cache,
        ttl_s=ttl_s,
        volatility=VOLATILITY,
    )


def ask(answers: CachedAnswers, owner: str = "alice", text: str = "hi", **kwargs):
    return answers.reply(owner, [], text, **kwargs)


def test_a_repeated_question_is_answered_from_the_cache_at_no_cost(model):
    cache = InMemoryResponseCache()
    answers = answers_for(model, cache=cache)
    first, second = ask(answers), ask(answers)
    assert (first.content, first.usage) == ("answer", Usage(10, 5))
    assert (second.content, second.usage) == ("answer", Usage())
    assert [m.content for m in second.messages] == ["answer"]
    assert len(model.calls) == 1
    assert list(cache.ttls.values()) == [HOUR]


def test_owners_do_not_share_answers(model):
    answers = answers_for(model)
    ask(answers, owner="alice")
    ask(answers, owner="bob")
    assert len(model.calls) == 2


def test_the_key_covers_the_system_prompt_in_force(model):
    cache = InMemoryResponseCache()
    ask(answers_for(model, cache=cache))
    ask(answers_for(model, cache=cache, system_prompt="Answer like a pirate."))
    assert len(model.calls) == 2


def test_the_key_covers_the_tool_schemas_offered():
    model = ScriptedChatModel(responder=lambda m: Completion("answer"))
    cache = InMemoryResponseCache()
    ask(answers_for(model, [FakeTool("get_weather")], cache=cache))
    ask(answers_for(model, [FakeTool("get_weather")], cache=cache))
    assert len(model.calls) == 1
    ask(answers_for(model, [FakeTool("get_weather"), FakeTool("lookup")], cache=cache))
    assert len(model.calls) == 2


def test_a_hit_returns_the_whole_turn_group_without_running_the_tools_again():
    model = ScriptedChatModel(responder=tool_then_answer("get_public_holidays", "get_weather"))
    weather, holidays = FakeTool("get_weather"), FakeTool("get_public_holidays")
    cache = InMemoryResponseCache()
    answers = answers_for(model, [weather, holidays], cache=cache)
    first, second = ask(answers), ask(answers)
    assert (weather.runs, holidays.runs, len(model.calls)) == (1, 1, 2)
    # The same turn group; its model calls are marked as answered from the cache, for free.
    assert [replace(m, calls=()) for m in second.messages] == [
        replace(m, calls=()) for m in first.messages
    ]
    assert [c.cached for c in first.calls] == [False, False]
    assert second.calls == tuple(c.as_cached() for c in first.calls)
    assert [(m.role, m.tool_name) for m in second.messages] == [
        (Role.ASSISTANT, ""),
        (Role.TOOL, "get_public_holidays"),
        (Role.TOOL, "get_weather"),
        (Role.ASSISTANT, ""),
    ]
    assert first.tools_used == second.tools_used == ("get_public_holidays", "get_weather")
    # As long as the most volatile tool's result stays true: the weather's ten minutes.
    assert list(cache.ttls.values()) == [600]


@pytest.mark.parametrize("never_cached", ["get_date_time", "some_plugin"])
def test_a_reply_that_used_a_never_cached_tool_is_not_cached(never_cached):
    model = ScriptedChatModel(responder=tool_then_answer("get_weather", never_cached))
    cache = InMemoryResponseCache()
    answers = answers_for(model, [FakeTool("get_weather"), FakeTool(never_cached)], cache=cache)
    ask(answers)
    ask(answers)
    assert len(model.calls) == 4
    assert cache.values == {}


def test_a_reply_built_on_a_failed_tool_call_is_not_cached():
    model = ScriptedChatModel(responder=tool_then_answer("get_weather"))
    weather = FakeTool("get_weather")
    weather.failing = True
    cache = InMemoryResponseCache()
    reply = ask(answers_for(model, [weather], cache=cache))
    assert reply.tools_failed is True
    assert cache.values == {}


def test_a_reply_that_summarized_older_turns_keeps_its_summary_and_is_not_cached():
    def respond(messages):
        if messages[0].content == SUMMARY_INSTRUCTION:
            return Completion("They talked a lot.")
        return Completion("fine")

    model = ScriptedChatModel(responder=respond)
    assistant = make_assistant(model, max_context_tokens=1500, reply_max_tokens=200)
    cache = InMemoryResponseCache()
    answers = CachedAnswers(assistant, cache, ttl_s=HOUR)
    history = long_history(20)
    reply = answers.reply("alice", history, "and now?")
    assert reply.summary is not None
    assert reply.summary.content == "They talked a lot."
    assert cache.values == {}


def test_titles_are_cached_too(model):
    answers = answers_for(model)
    first, second = answers.title("o", "weather in rome"), answers.title("o", "weather in rome")
    assert first.text == second.text
    assert first.call is not None
    assert second.call == first.call.as_cached()
    assert len(model.calls) == 1


def test_without_a_cache_or_with_a_zero_ttl_every_call_reaches_the_model(model):
    assistant = make_assistant(model)
    for answers in (
        CachedAnswers(assistant, None, ttl_s=HOUR),
        CachedAnswers(assistant, InMemoryResponseCache(), ttl_s=0),
    ):
        ask(answers)
        ask(answers)
    assert len(model.calls) == 4


def test_tool_results_are_reused_across_turns_by_volatility_and_day():
    model = ScriptedChatModel(responder=tool_then_answer("get_weather", "get_date_time"))
    weather, clock_tool = FakeTool("get_weather"), FakeTool("get_date_time")
    clock = FakeClock(FIXED_NOW)
    tool_cache = InMemoryResponseCache()
    results = ToolResultCache(tool_cache, volatility=VOLATILITY, max_ttl_s=HOUR, clock=clock.wall)
    # No reply cache: each turn reaches the model and runs the loop; only tool results are reused.
    answers = answers_for(model, [weather, clock_tool], ttl_s=0, tool_results=results)
    ask(answers, text="one")
    ask(answers, text="two")
    assert (weather.runs, clock_tool.runs) == (1, 2)
    ask(answers, owner="bob", text="three")
    assert weather.runs == 2  # owners never share
    clock.advance(timedelta(days=1))
    ask(answers, text="four")
    assert weather.runs == 3  # a new day: "today" has moved on
    assert sorted(tool_cache.ttls.values()) == [600, 600, 600]


def test_a_failed_tool_call_is_not_reused():
    model = ScriptedChatModel(responder=tool_then_answer("get_weather"))
    weather = FakeTool("get_weather")
    weather.failing = True
    results = ToolResultCache(
        InMemoryResponseCache(),
        volatility=VOLATILITY,
        max_ttl_s=HOUR,
        clock=FakeClock(FIXED_NOW).wall,
    )
    answers = answers_for(model, [weather], ttl_s=0, tool_results=results)
    ask(answers, text="one")
    weather.failing = False
    reply = ask(answers, text="two")
    assert weather.runs == 2
    assert json.loads(reply.messages[1].content) == {"tool": "get_weather", "q": "x"}


def test_tool_ttls_follow_the_volatility_of_each_built_in_tool():
    assert VOLATILITY.ttl_s("get_weather") == 600
    assert VOLATILITY.ttl_s("get_public_holidays") == 24 * HOUR
    assert VOLATILITY.ttl_s("get_calendar_events") == 900
    assert VOLATILITY.ttl_s("get_date_time") is None
    assert VOLATILITY.ttl_s("never_heard_of_it") is None


def test_reply_ttl_rules():
    assert VOLATILITY.reply_ttl_s((), max_ttl_s=HOUR) == HOUR
    assert VOLATILITY.reply_ttl_s(("get_weather",), max_ttl_s=60) == 60
    assert VOLATILITY.reply_ttl_s(("get_weather", "get_public_holidays"), max_ttl_s=HOUR) == 600
    assert VOLATILITY.reply_ttl_s(("get_weather", "get_date_time"), max_ttl_s=HOUR) is None


def long_history(turns: int) -> list[Message]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    text = " ".join(["word"] * 100)
    messages = []
    for i in range(turns):
        messages.append(Message(f"u{i}", "c", 2 * i, Role.USER, f"question {i} {text}", now))
        messages.append(Message(f"a{i}", "c", 2 * i + 1, Role.ASSISTANT, f"answer {text}", now))
    return messages
