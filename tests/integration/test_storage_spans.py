"""Spans for MongoDB commands (our command listener) and Redis commands (redis-py instrumented
per client), against the real servers."""

from __future__ import annotations

import pytest
import redis
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.observability.mongo_tracing import MongoCommandTracer


@pytest.fixture
def tracing():
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider, spans


def test_mongo_commands_are_child_spans_without_documents(tracing, mongo_uri, mongo_database_name):
    provider, spans = tracing
    tracer = provider.get_tracer("test")
    client = connect_mongo(mongo_uri, timeout_ms=5000, event_listeners=[MongoCommandTracer(tracer)])
    try:
        with tracer.start_as_current_span("request") as parent:
            collection = client[mongo_database_name]["notes"]
            collection.insert_one({"text": "very private words"})
            collection.find_one({"text": "very private words"})
    finally:
        client.close()
    by_name = {s.name: s for s in spans.get_finished_spans()}
    for name, operation in (("insert notes", "insert"), ("find notes", "find")):
        span = by_name[name]
        assert span.parent.span_id == parent.get_span_context().span_id
        assert span.attributes["db.operation.name"] == operation
        assert span.attributes["db.collection.name"] == "notes"
        assert span.attributes["db.namespace"] == mongo_database_name
    assert "private" not in str([dict(s.attributes) for s in spans.get_finished_spans()])


def test_failed_mongo_commands_are_error_spans(tracing, mongo_uri, mongo_database_name):
    provider, spans = tracing
    client = connect_mongo(
        mongo_uri, timeout_ms=5000, event_listeners=[MongoCommandTracer(provider.get_tracer("t"))]
    )
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whichever error the server picks
            client[mongo_database_name].command({"noSuchCommand": 1})
    finally:
        client.close()
    (span,) = [s for s in spans.get_finished_spans() if s.name == "noSuchCommand"]
    assert not span.status.is_ok


def test_redis_commands_of_an_instrumented_client_are_spans(tracing, redis_url):
    provider, spans = tracing
    client = redis.Redis.from_url(redis_url)
    RedisInstrumentor.instrument_client(client, tracer_provider=provider)
    other = redis.Redis.from_url(redis_url)  # not instrumented: nothing global changed
    try:
        with provider.get_tracer("t").start_as_current_span("request") as parent:
            client.set("span-test", "secret value")
            client.get("span-test")
            other.get("span-test")
    finally:
        client.close()
        other.close()
    commands = [s for s in spans.get_finished_spans() if s.name in ("SET", "GET")]
    assert [s.name for s in commands] == ["SET", "GET"]
    assert all(s.parent.span_id == parent.get_span_context().span_id for s in commands)
    assert "secret value" not in str([dict(s.attributes) for s in commands])
