"""Fuzzing fixtures: one app under uvicorn over the session's Redis and Mongo servers, the
fake provider and weather upstream, and a direct view of the stored documents."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pymongo
import pytest

import migrations
from chat_service.composition.app import create_app
from chat_service.config import Secret, Settings
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.uvicorn_thread import serve
from tests.fakes.weather_server import FakeWeatherServer

COLLECTIONS = ("conversations", "messages", "summaries", "sessions", "idempotency_keys", "prompts")


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def fake_weather() -> Iterator[FakeWeatherServer]:
    with FakeWeatherServer() as server:
        yield server


@pytest.fixture(scope="session")
def fuzz_settings(redis_url, mongo_uri, fake_openai, fake_weather) -> Iterator[Settings]:
    settings = Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"fuzz_{uuid.uuid4().hex[:12]}",
        openai_api_key=Secret("sk-test-key"),
        openai_base_url=fake_openai.url,
        openai_model="gpt-test",
        llm_providers="openai",
        max_body_bytes=64 * 1024,
        open_meteo_geocoding_url=fake_weather.url,
        open_meteo_forecast_url=fake_weather.url,
        api_rate_limit_rps=0,  # thousands of quick requests from one address
        auth_failure_limit=0,  # some of them with made-up keys
    )
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        yield settings
        client.drop_database(settings.mongo_database)


@pytest.fixture(scope="session")
def base_url(fuzz_settings) -> Iterator[str]:
    with serve(create_app(fuzz_settings)) as url:
        yield url


@pytest.fixture(scope="session")
def stored_counts(fuzz_settings) -> Iterator[Callable[[], dict[str, int]]]:
    """Returns a function counting the documents of every data collection."""
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(fuzz_settings.mongo_uri)
    db = client[fuzz_settings.mongo_database]
    yield lambda: {name: db[name].count_documents({}) for name in COLLECTIONS}
    client.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fuzzed app runs in this process: its threads draw from the global `random` module
    (pymongo's request ids, redis-py's and backoff's jitter) while Hypothesis generates the
    next example, and Hypothesis takes any change of that state during a draw for a strategy
    using `random`. These strategies use none, so that warning is ignored here."""
    ignore = pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies"
        ":hypothesis.errors.HypothesisDeprecationWarning"
    )
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(ignore)
