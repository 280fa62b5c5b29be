"""Settings of the assistant core, and the Retry-After parsing of provider responses."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from chat_service.adapters.llm.retry_after import retry_after_s
from chat_service.config import Settings, SettingsError


def test_defaults_and_environment_names():
    settings = Settings.from_env(
        {
            "LLM_PROVIDERS": "Anthropic, openai",
            "RETRY_MAX_ATTEMPTS": "4",
            "CIRCUIT_BREAKER_COOLDOWN_SECONDS": "12.5",
            "WEATHER_API_KEY": "secret",
            "MAX_CONTEXT_TOKENS": "9000",
        }
    )
    assert settings.provider_names == ("anthropic", "openai")
    assert (settings.retry_max_attempts, settings.circuit_breaker_cooldown_seconds) == (4, 12.5)
    assert "secret" not in repr(settings)
    assert Settings().max_tool_rounds == 5


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LLM_PROVIDERS": "openai,gemini"}, "unknown provider"),
        ({"RETRY_MAX_ATTEMPTS": "0"}, "RETRY_MAX_ATTEMPTS must be positive"),
        ({"RETRY_BASE_DELAY_MS": "9000"}, "RETRY_BASE_DELAY_MS"),
        ({"MAX_CONTEXT_TOKENS": "500"}, "MAX_CONTEXT_TOKENS must be larger"),
        ({"OPEN_METEO_FORECAST_URL": "http://weather.example"}, "must be an https:// URL"),
        ({"CALENDAR_ICS_URL": "ftp://x/cal.ics"}, "CALENDAR_ICS_URL"),
    ],
)
def test_unusable_values_are_refused(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_loopback_http_is_allowed_for_local_fakes():
    assert Settings.from_env({"WEATHERAPI_BASE_URL": "http://127.0.0.1:8000"}).weatherapi_base_url


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, None),
        ({"Retry-After": "99999"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_seconds(headers, expected):
    assert retry_after_s(headers) == expected


def test_retry_after_as_an_http_date():
    now = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC).timestamp()
    header = format_datetime(datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC), usegmt=True)
    assert retry_after_s({"Retry-After": header}, now=lambda: now) == 30.0
