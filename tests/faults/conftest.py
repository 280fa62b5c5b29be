"""Fault-injection fixtures: the app under uvicorn over real servers, with settings per module.

Each module that stops a server runs its own (the session-wide servers other tiers use are
never stopped). `fault_settings(...)` builds Settings pointing at the given servers and at
this tier's fake provider and weather upstream, with fast retries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pymongo
import pytest

import migrations
from chat_service.config import Secret, Settings
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.weather_server import FakeWeatherServer

SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def fake_weather() -> Iterator[FakeWeatherServer]:
    with FakeWeatherServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_fakes(fake_openai: FakeOpenAIServer, fake_weather: FakeWeatherServer) -> Iterator[None]:
    fake_openai.reset()
    fake_weather.reset()
    yield
    fake_openai.reset()
    fake_weather.reset()


@pytest.fixture(scope="session")
def fault_settings(
    fake_openai: FakeOpenAIServer, fake_weather: FakeWeatherServer
) -> SettingsFactory:
    """Returns `make(*, redis_url, mongo_uri, **overrides)`: settings over a fresh, migrated
    database (its name is in `.mongo_database`)."""

    def make(*, redis_url: str, mongo_uri: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "mongo_uri": mongo_uri,
            "mongo_database": f"faults_{uuid.uuid4().hex[:12]}",
            "openai_api_key": Secret("sk-test-key"),
            "openai_base_url": fake_openai.url,
            "openai_model": "gpt-test",
            "llm_providers": "openai",
            "llm_timeout_s": 10.0,
            "retry_base_delay_ms": 1,
            "retry_max_delay_ms": 10,
            "open_meteo_geocoding_url": fake_weather.url,
            "open_meteo_forecast_url": fake_weather.url,
            "cache_ttl_hours": 0,
            "api_rate_limit_rps": 0,
            **overrides,
        }
        settings = Settings(**values)
        with pymongo.MongoClient(mongo_uri) as client:
            migrations.apply_all(client[settings.mongo_database])
        return settings

    return make
