"""E2E fixtures: the real app under uvicorn on loopback, over the real Redis and Mongo servers,
with the real OpenAI SDK talking to a local fake OpenAI server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pymongo
import pytest
import requests
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import migrations
from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.composition.app import create_app
from chat_service.config import Secret, Settings
from chat_service.core.api_keys import key_digest, new_api_key
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests import canaries
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
        openai_api_key=Secret(canaries.OPENAI_KEY),
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
        auth_failure_limit=0,
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


@dataclass(frozen=True)
class SecuredApp:
    """The app with API keys: `API_KEY` (owner "default") and stored keys of alice and bob."""

    url: str
    settings: Settings
    keys: dict[str, str]
    spans: InMemorySpanExporter

    def post(self, method: str, body: object, *, owner: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if owner is not None:
            headers["Authorization"] = f"Bearer {self.keys[owner]}"
        return requests.post(
            self.url + ROUTE + method, json=body, headers=headers, timeout=30, **kwargs
        )


@pytest.fixture(scope="session")
def secured_app(redis_url, mongo_uri, fake_openai, log_audit):
    """A second app instance, as it runs on a network: keys required, CORS for one origin."""
    settings = Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"e2e_secured_{uuid.uuid4().hex[:12]}",
        openai_api_key=Secret(canaries.OPENAI_KEY),
        openai_base_url=fake_openai.url,
        openai_model="gpt-test",
        api_key=Secret(canaries.API_KEY),
        api_key_owner="default",
        cors_origins="https://chat.example",
        # On, but loose: every app of the run shares loopback's bucket of wrong keys (the
        # limit itself is tested in test_auth_failure_limit.py, on addresses of its own).
        auth_failure_limit=1000,
        llm_prices='{"gpt-test": {"input": 1.0, "output": 2.0}}',
        llm_timeout_s=10.0,
    )
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    keys = {"default": canaries.API_KEY}
    with pymongo.MongoClient(mongo_uri) as client:
        database = client[settings.mongo_database]
        migrations.apply_all(database)
        store = MongoApiKeyStore(database)
        for owner in ("alice", "bob"):
            keys[owner] = new_api_key()
            log_audit.watch(f"{owner}'s API key", keys[owner])
            store.add(
                digest=key_digest(keys[owner]), owner=owner, name="e2e", now=datetime.now(UTC)
            )
        with serve(create_app(settings, tracer_provider=tracer_provider)) as url:
            yield SecuredApp(url, settings, keys, spans)
        client.drop_database(settings.mongo_database)
