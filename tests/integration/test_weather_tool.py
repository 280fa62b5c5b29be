"""The weather and calendar tools through `requests` against a local fake of their upstreams."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import requests

from chat_service.composition.toolbox import build_tool_registry
from chat_service.config import Secret, Settings
from chat_service.core.breakers import BreakerBoard
from tests.fakes.weather_server import FakeWeatherServer
from tools.registry import ToolError


@pytest.fixture(scope="module")
def upstream():
    with FakeWeatherServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(upstream):
    upstream.reset()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def _registry(upstream, http, clock, **overrides):
    settings = Settings(
        open_meteo_geocoding_url=upstream.url,
        open_meteo_forecast_url=upstream.url,
        weatherapi_base_url=upstream.url,
        weather_timeout_s=2.0,
        circuit_breaker_max_failures=2,
        circuit_breaker_cooldown_seconds=10,
        **overrides,
    )
    breakers = BreakerBoard(max_failures=2, cooldown_s=10, clock=clock.monotonic)
    registry = build_tool_registry(
        settings,
        http=http,
        breakers=breakers,
        clock=lambda: datetime(2026, 11, 25, 9, tzinfo=UTC),
        load_plugins=False,
    )
    return registry, breakers


def test_open_meteo_geocodes_then_forecasts(upstream, http, clock):
    registry, _ = _registry(upstream, http, clock)
    body = json.loads(registry.run("get_weather", '{"location": "Barcelona", "days": 2}'))
    assert body["source"] == "open-meteo"
    assert body["place"]["name"] == "Barcelona"
    assert body["current"] == {
        "temperature_c": 17.3,
        "feels_like_c": 16.1,
        "humidity_percent": 64.0,
        "wind_kph": 11.5,
        "condition": "partly cloudy",
    }
    assert [d["date"] for d in body["forecast"]] == ["2026-11-25", "2026-11-26"]
    search, forecast = upstream.seen
    assert (search.path, search.query["name"]) == ("/v1/search", "Barcelona")
    assert forecast.query["latitude"] == "41.38879"
    assert forecast.query["forecast_days"] == "2"


def test_place_names_are_url_encoded(upstream, http, clock):
    registry, _ = _registry(upstream, http, clock)
    registry.run("get_weather", json.dumps({"location": "São Paulo"}))
    assert upstream.seen[0].raw_query.startswith("name=S%C3%A3o+Paulo&")
    with pytest.raises(ToolError, match="no place called 'a&b=c' was found"):
        registry.run("get_weather", '{"location": "a&b=c"}')
    assert upstream.seen[-1].query["name"] == "a&b=c"


def test_weatherapi_is_used_with_a_key_that_never_shows_in_errors_or_logs(
    upstream, http, clock, caplog
):
    caplog.set_level(logging.INFO)  # urllib3 logs URLs at DEBUG; the app keeps it at INFO
    registry, _ = _registry(
        upstream, http, clock, weather_api_key=Secret(FakeWeatherServer.API_KEY)
    )
    body = json.loads(registry.run("get_weather", '{"location": "Barcelona"}'))
    assert (body["source"], body["current"]["condition"]) == ("weatherapi", "sunny")
    assert upstream.seen[0].query["key"] == FakeWeatherServer.API_KEY
    with pytest.raises(ToolError) as unknown:
        registry.run("get_weather", '{"location": "Atlantis"}')
    upstream.fail_with(503)
    with pytest.raises(ToolError) as down:
        registry.run("get_weather", '{"location": "Barcelona"}')
    for text in (str(unknown.value), str(down.value), caplog.text):
        assert FakeWeatherServer.API_KEY not in text


def test_the_breaker_opens_after_failures_and_probes_after_the_cooldown(upstream, http, clock):
    registry, breakers = _registry(upstream, http, clock)
    upstream.fail_with(500)
    for _ in range(2):
        with pytest.raises(ToolError, match="open-meteo-geocoding answered HTTP 500"):
            registry.run("get_weather", '{"location": "Barcelona"}')
    assert breakers.states()["tool:open-meteo-geocoding"] == "open"
    seen = len(upstream.seen)
    with pytest.raises(ToolError, match="unavailable"):
        registry.run("get_weather", '{"location": "Barcelona"}')
    assert len(upstream.seen) == seen  # failed fast, no request
    upstream.fail_with(None)
    clock.advance(10.5)
    assert breakers.states()["tool:open-meteo-geocoding"] == "half_open"
    registry.run("get_weather", '{"location": "Barcelona"}')
    assert breakers.states()["tool:open-meteo-geocoding"] == "closed"


def test_a_refused_request_does_not_count_against_the_breaker(upstream, http, clock):
    registry, breakers = _registry(upstream, http, clock)
    upstream.fail_with(404)
    for _ in range(3):
        with pytest.raises(ToolError, match="refused the request"):
            registry.run("get_weather", '{"location": "Barcelona"}')
    assert breakers.states()["tool:open-meteo-geocoding"] == "closed"


def test_an_unreachable_upstream_is_a_clean_tool_error(http, clock):
    settings = Settings(open_meteo_geocoding_url="http://127.0.0.1:9", weather_timeout_s=1.0)
    registry = build_tool_registry(
        settings,
        http=http,
        breakers=BreakerBoard(max_failures=2, cooldown_s=10, clock=clock.monotonic),
        clock=lambda: datetime(2026, 11, 25, tzinfo=UTC),
        load_plugins=False,
    )
    with pytest.raises(ToolError, match="open-meteo-geocoding is unreachable"):
        registry.run("get_weather", '{"location": "Barcelona"}')


def test_the_calendar_feed_is_parsed_filtered_and_cached(upstream, http, clock):
    registry, _ = _registry(upstream, http, clock, calendar_ics_url=upstream.url + "/calendar.ics")
    body = json.loads(
        registry.run("get_calendar_events", '{"from_date": "2026-11-25", "days": 30}')
    )
    assert body["events"] == [
        {
            "start": "2026-12-01T09:30:00+00:00",
            "end": "2026-12-01T10:00:00+00:00",
            "summary": "Team meeting",
            "location": "Room 4",
        },
        {"start": "2026-12-08", "end": "2026-12-09", "summary": "Office closed", "location": ""},
    ]
    registry.run("get_calendar_events", "{}")
    assert len(upstream.seen) == 1  # the second call was served from the cache


def test_a_broken_feed_is_a_tool_error(upstream, http, clock):
    registry, _ = _registry(upstream, http, clock, calendar_ics_url=upstream.url + "/calendar.ics")
    upstream.state.ics = b"this is not a calendar"
    with pytest.raises(ToolError, match="not a valid iCalendar"):
        registry.run("get_calendar_events", "{}")
