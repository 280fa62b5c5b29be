"""The offline model answers direct weather, time and holiday questions through the real tools."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from chat_service.adapters.llm.offline import OfflineChatModel
from chat_service.core.models import Role
from chat_service.ports.chat_model import ChatMessage, PromptRole, ToolSpec
from tests.fakes.assistant_kit import make_assistant
from tools.clock import ClockTool
from tools.public_holidays import PublicHolidaysTool
from tools.registry import Tool, ToolError
from tools.weather import Current, DayForecast, Place, WeatherReport, WeatherTool

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)


class DownProvider:
    def report(self, location, *, days):
        raise ToolError("open-meteo-geocoding is unreachable")


class SunnyProvider:
    def report(self, location, *, days):
        return WeatherReport(
            Place(location, "Spain", 41.4, 2.2),
            Current(21.5, 20.0, 50.0, 8.0, "clear sky"),
            (DayForecast("2026-11-25", 12.0, 22.0, 0.0, "clear sky"),),
            "test",
        )


def _assistant(provider=None):
    tools: list[Tool] = [
        WeatherTool(provider or DownProvider()),
        ClockTool(lambda: NOW, default_timezone="UTC"),
        PublicHolidaysTool(lambda: NOW),
    ]
    return make_assistant(OfflineChatModel(), tools)


def test_holidays_question_is_answered_from_the_tool():
    reply = _assistant().reply([], "Which public holidays does Spain have in 2026?")
    assert [m.role for m in reply.messages] == [Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
    call = reply.messages[0].tool_calls[0]
    assert (call.name, json.loads(call.arguments)) == (
        "get_public_holidays",
        {"country": "Spain", "year": 2026},
    )
    assert reply.content.startswith("Public holidays for ES in 2026:\n- 2026-01-01: New Year's Day")
    assert "- 2026-12-25: Christmas Day" in reply.content
    assert "Offline mode" in reply.content


def test_weather_that_cannot_be_fetched_is_said_not_invented():
    reply = _assistant().reply([], "What's the weather in Barcelona?")
    assert json.loads(reply.messages[0].tool_calls[0].arguments) == {"location": "Barcelona"}
    assert reply.content.startswith(
        "Sorry, I could not get the weather: the get_weather tool failed "
        "(open-meteo-geocoding is unreachable). I won't guess instead"
    )
    assert "°C" not in reply.content


def test_weather_that_can_be_fetched_is_reported():
    reply = _assistant(SunnyProvider()).reply([], "What's the weather in Barcelona?")
    assert reply.content.startswith(
        "Weather in Barcelona, Spain now: 21.5 °C, feels like 20 °C, clear sky, wind 8 km/h."
    )


def test_time_questions_use_the_clock_tool():
    reply = _assistant().reply([], "What time is it in Tokyo?")
    assert reply.content.startswith("It is Wednesday, 2026-11-25 19:00:00+09:00 in Asia/Tokyo.")
    shifted = _assistant().reply([], "What day is 3 weeks from Friday?")
    assert "The date you asked about is Friday, 2026-12-18." in shifted.content


def test_other_questions_and_unoffered_tools_get_the_not_configured_reply():
    model = OfflineChatModel()
    weather_question = [ChatMessage(PromptRole.USER, "What's the weather in Barcelona?")]
    assert model.complete(weather_question).tool_calls == ()
    offered = [ToolSpec("get_weather", "", {})]
    assert (
        model.complete([ChatMessage(PromptRole.USER, "tell me a joke")], tools=offered).tool_calls
        == ()
    )


def _readme_first_message() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    using = readme[readme.index("## Using the API") :]
    body = re.search(r"-d '(\{[^']*\})'", using)
    assert body is not None, "no curl example with a JSON body in 'Using the API'"
    return str(json.loads(body.group(1))["message"])


def test_the_readmes_first_example_is_answered_without_the_network():
    # A fresh clone, no provider key, no internet: the weather upstream is unreachable.
    reply = _assistant(DownProvider()).reply([], _readme_first_message())

    assert reply.messages[0].tool_calls, "the offline model answers it through a tool"
    assert "Offline mode: answered from" in reply.content
    assert "could not get" not in reply.content
    assert "tool failed" not in reply.content


def test_the_not_configured_note_names_both_providers():
    reply = _assistant().reply([], "Tell me a joke")
    assert "OPENAI_API_KEY" in reply.content
    assert "ANTHROPIC_API_KEY" in reply.content
