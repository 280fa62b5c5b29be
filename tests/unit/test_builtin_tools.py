"""The date-and-time and public-holidays tools (offline, with a fixed clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tools.clock import ClockTool
from tools.public_holidays import PublicHolidaysTool
from tools.registry import ToolError, ToolRegistry

NOW = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # a Wednesday; already Thursday in Madrid


def _clock():
    return NOW


def _run(tool, **arguments):
    # Through the registry, so arguments are validated as the model's would be.
    return json.loads(ToolRegistry([tool]).run(tool.name, json.dumps(arguments)))


def test_now_in_the_default_and_a_given_time_zone():
    tool = ClockTool(_clock, default_timezone="UTC")
    assert _run(tool) == {
        "timezone": "UTC",
        "now": "2026-11-25T23:30:00+00:00",
        "today": "2026-11-25",
        "weekday": "Wednesday",
    }
    madrid = _run(tool, timezone="Europe/Madrid")
    assert (madrid["now"], madrid["weekday"]) == ("2026-11-26T00:30:00+01:00", "Thursday")


def test_three_weeks_from_friday():
    result = _run(ClockTool(_clock), **{"from": "friday", "offset_weeks": 3})["result"]
    assert result == {
        "from": "2026-11-27",
        "date": "2026-12-18",
        "weekday": "Friday",
        "days_from_today": 23,
    }


def test_a_weekday_that_is_today_means_today_and_months_clamp_to_the_last_day():
    tool = ClockTool(_clock)
    assert _run(tool, **{"from": "wednesday"})["result"]["date"] == "2026-11-25"
    assert (
        _run(tool, **{"from": "2026-01-31", "offset_months": 1})["result"]["date"] == "2026-02-28"
    )
    assert _run(tool, offset_days=-1)["result"]["date"] == "2026-11-24"


def test_integral_floats_are_offsets_like_integers():
    # JSON Schema's "integer" admits 1.0, and models do send it.
    tool = ClockTool(_clock)
    as_floats = _run(tool, offset_days=2.0, offset_weeks=1.0, offset_months=1.0)["result"]
    assert as_floats == _run(tool, offset_days=2, offset_weeks=1, offset_months=1)["result"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"timezone": "Mars/Olympus"}, "unknown time zone"), ({"from": "someday"}, "'from' must be")],
)
def test_bad_input_is_a_tool_error(arguments, message):
    with pytest.raises(ToolError, match=message):
        _run(ClockTool(_clock), **arguments)


def test_the_default_time_zone_is_checked_at_construction():
    with pytest.raises(ToolError):
        ClockTool(_clock, default_timezone="Nowhere/Land")


def test_holidays_of_a_country_by_name_for_a_year():
    body = _run(PublicHolidaysTool(_clock), country="Spain", year=2026)
    assert body["country"] == "ES"
    assert {"date": "2026-10-12", "name": "National Day"} in body["holidays"]
    assert len(body["holidays"]) == 8


def test_subdivision_adds_regional_holidays_and_upcoming_crosses_the_year():
    body = _run(PublicHolidaysTool(_clock), country="ES", subdivision="ES-CT", upcoming=4)
    assert body["subdivision"] == "CT"
    assert [h["date"] for h in body["holidays"]] == [
        "2026-12-08",
        "2026-12-25",
        "2026-12-26",
        "2027-01-01",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"country": "Atlantis"}, "no holiday data"),
        ({"country": "ES", "subdivision": "ZZ"}, "no subdivision"),
    ],
)
def test_unknown_country_or_subdivision_is_a_tool_error(arguments, message):
    with pytest.raises(ToolError, match=message):
        _run(PublicHolidaysTool(_clock), **arguments)
