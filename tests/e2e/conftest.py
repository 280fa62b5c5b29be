"""E2E fixtures: the real app under uvicorn on loopback, over the real Redis and Mongo servers,
with the real OpenAI SDK talking to a local fake OpenAI server."""

from __future__ import annotations

import uuid

import pymongo
import pytest
import requests

import migrations
from chat_service.app import create_app
from chat_service.config import Secret, Settings
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.uvicorn_thread import serve
from tests.fakes.weather_server import FakeWeatherServer

ROUTE = "/twirp/acai.chat.ChatService/"


@pytest.fixture(scope="session")
def fake_openai():
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def fake_weather():
    with FakeWeatherServer() as server:
        yield server


@pytest.fixture(scope="session")
def app_settings(redis_url, mongo_uri, fake_openai, fake_weather):
    settings = Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"e2e_{uuid.uuid4().hex[:12]}",
        openai_api_key=Secret("sk-test-key"),
        openai_base_url=fake_openai.url,
        openai_model="gpt-test",
        max_body_bytes=64 * 1024,
        max_message_chars=2000,
        llm_timeout_s=10.0,
        llm_providers="openai",
        # Failures are scripted on purpose: retry fast, and never let the shared app's
        # breaker open for the tests that follow.
        retry_base_delay_ms=1,
        retry_max_delay_ms=10,
        circuit_breaker_max_failures=1000,
        open_meteo_geocoding_url=fake_weather.url,
        open_meteo_forecast_url=fake_weather.url,
        # Tests of this shared app script the provider per test: no answer may come from a cache.
        cache_ttl_hours=0,
        api_rate_limit_rps=0,  # many quick requests from one address; limits are tested apart
    )
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        yield settings
        client.drop_database(settings.mongo_database)


@pytest.fixture(scope="session")
def app(app_settings):
    return create_app(app_settings)


@pytest.fixture(scope="session")
def server_url(app):
    with serve(app) as url:
        yield url


@pytest.fixture(autouse=True)
def _reset_fakes(fake_openai, fake_weather):
    fake_openai.reset()
    fake_weather.reset()
    yield
    fake_openai.reset()


@pytest.fixture(scope="session")
def client(server_url):
    return ChatServiceClient(server_url, timeout=30)


@pytest.fixture(scope="session")
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def rpc(server_url, http):
    """Posts JSON to a ChatService method and returns the response."""

    def call(method: str, body: object, **kwargs):
        return http.post(server_url + ROUTE + method, json=body, timeout=30, **kwargs)

    return call
