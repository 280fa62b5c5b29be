"""CachedAnswers and tool volatility: what is cached, for how long, and what a hit costs."""

from __future__ import annotations

import pytest

from chat_service.answer_cache import CachedAnswers
from chat_service.assistant import Assistant, Reply
from chat_service.llm.base import Completion, Usage
from chat_service.models import NewMessage, Role
from chat_service.tool_cache import ToolResultCache, ToolVolatility
from tests.fakes.memory_cache import InMemoryResponseCache
from tests.fakes.scripted_model import ScriptedChatModel

HOUR = 3600.0
VOLATILITY = ToolVolatility({"get_weather": 600, "get_holidays": 86400, "get_current_time": 0})


class ToolUsingAssistant(Assistant):
    """The real Assistant, whose replies claim to rest on the given tools."""

    def __init__(self, model, tools_used):
        super().__init__(model)
        self.tools_used = tools_used

    def reply(self, history):
        reply = super().reply(history)
        return Reply(reply.content, reply.usage, self.tools_used)


def ask(answers: CachedAnswers, owner: str = "alice", text: str = "hi") -> Reply:
    return answers.reply(owner, [NewMessage(Role.USER, text)])


@pytest.fixture
def model():
    return ScriptedChatModel(responder=lambda m: Completion("answer", usage=Usage(10, 5)))


def test_a_repeated_question_is_answered_from_the_cache_at_no_cost(model):
    cache = InMemoryResponseCache()
    answers = CachedAnswers(Assistant(model), cache, ttl_s=HOUR)
    first, second = ask(answers), ask(answers)
    assert first == Reply("answer", Usage(10, 5))
    assert second == Reply("answer", Usage())
    assert len(model.calls) == 1
    assert list(cache.ttls.values()) == [HOUR]


def test_owners_do_not_share_answers(model):
    answers = CachedAnswers(Assistant(model), InMemoryResponseCache(), ttl_s=HOUR)
    ask(answers, owner="alice")
    ask(answers, owner="bob")
    assert len(model.calls) == 2


def test_a_reply_that_used_tools_lives_as_long_as_the_most_volatile(model):
    cache = InMemoryResponseCache()
    assistant = ToolUsingAssistant(model, ("get_holidays", "get_weather"))
    answers = CachedAnswers(assistant, cache, ttl_s=HOUR, volatility=VOLATILITY)
    ask(answers)
    assert list(cache.ttls.values()) == [600]


@pytest.mark.parametrize("tools", [("get_weather", "get_current_time"), ("unknown_plugin",)])
def test_a_reply_that_used_a_never_cached_tool_is_not_cached(model, tools):
    answers = CachedAnswers(
        ToolUsingAssistant(model, tools), InMemoryResponseCache(), ttl_s=HOUR, volatility=VOLATILITY
    )
    ask(answers)
    ask(answers)
    assert len(model.calls) == 2


def test_titles_are_cached_too(model):
    answers = CachedAnswers(Assistant(model), InMemoryResponseCache(), ttl_s=HOUR)
    assert answers.title("o", "weather in rome") == answers.title("o", "weather in rome")
    assert len(model.calls) == 1


def test_without_a_cache_or_with_a_zero_ttl_every_call_reaches_the_model(model):
    for answers in (
        CachedAnswers(Assistant(model), None, ttl_s=HOUR),
        CachedAnswers(Assistant(model), InMemoryResponseCache(), ttl_s=0),
    ):
        ask(answers)
        ask(answers)
    assert len(model.calls) == 4


def test_tool_results_are_cached_by_volatility():
    cache = InMemoryResponseCache()
    tools = ToolResultCache(cache, volatility=VOLATILITY, max_ttl_s=HOUR)
    runs = []

    def run(name, arguments, result="ok"):
        def execute():
            runs.append(name)
            return result

        return tools.run(owner="o", tool_name=name, arguments=arguments, execute=execute)

    assert run("get_weather", {"city": "Rome"}) == "ok"
    assert run("get_weather", {"city": "Rome"}) == "ok"
    run("get_weather", {"city": "Oslo"})
    run("get_current_time", {})
    run("get_current_time", {})
    run("get_holidays", {"year": 2026})
    assert runs == [
        "get_weather",
        "get_weather",
        "get_current_time",
        "get_current_time",
        "get_holidays",
    ]
    assert sorted(cache.ttls.values()) == [600, 600, HOUR]


def test_a_refused_tool_result_is_not_stored():
    cache = InMemoryResponseCache()
    tools = ToolResultCache(cache, volatility=VOLATILITY, max_ttl_s=HOUR)
    result = tools.run(
        owner="o",
        tool_name="get_weather",
        arguments={"city": "Rome"},
        execute=lambda: "error: upstream down",
        cacheable=lambda text: not text.startswith("error"),
    )
    assert result == "error: upstream down"
    assert cache.values == {}


def test_reply_ttl_rules():
    assert VOLATILITY.reply_ttl_s((), max_ttl_s=HOUR) == HOUR
    assert VOLATILITY.reply_ttl_s(("get_weather",), max_ttl_s=60) == 60
    assert VOLATILITY.reply_ttl_s(("get_weather", "get_holidays"), max_ttl_s=HOUR) == 600
    assert VOLATILITY.reply_ttl_s(("get_current_time",), max_ttl_s=HOUR) is None
    assert VOLATILITY.ttl_s("never_heard_of_it") is None
