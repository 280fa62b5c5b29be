"""Traces end to end: a caller's traceparent continues through the RPC, the model calls (real
OpenAI SDK against the fake server), the assistant's tool loop running the real weather tool
against the fake weather upstream, and MongoDB."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pymongo
import pytest
import requests
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import migrations
from chat_service.composition.app import create_app
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.openai_wire import Reply
from tests.fakes.uvicorn_thread import serve

ROUTE = "/twirp/acai.chat.ChatService/"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def traced(app_settings, mongo_uri):
    """The configured app (provider chain, tool loop, weather tool on the fake upstream)
    exporting its spans to memory."""
    settings = replace(app_settings, mongo_database=f"e2e_traced_{uuid.uuid4().hex[:12]}")
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = create_app(settings, tracer_provider=provider)
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        with serve(app) as url:
            yield url, spans
        client.drop_database(settings.mongo_database)


def _finished(spans, server_span_name):
    """Returns the finished spans once the server span is among them: it ends just after
    the response went out, so the client may read the response first."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        finished = spans.get_finished_spans()
        if any(s.name == server_span_name for s in finished):
            return finished
        time.sleep(0.01)
    return spans.get_finished_spans()


def _ancestors(span, by_id):
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


def test_a_callers_trace_continues_through_rpc_model_tool_and_mongo(
    traced, fake_openai, fake_weather
):
    url, spans = traced
    started = requests.post(url + ROUTE + "StartConversation", json={"message": "hi"}, timeout=30)
    assert started.status_code == 200, started.text
    spans.clear()
    fake_openai.script(
        FakeOpenAIServer.tool_call("get_weather", {"location": "Barcelona"}, call_id="w1"),
        Reply("Sunny in Barcelona.", usage=(50, 4)),
    )
    body = {"conversation_id": started.json()["conversation_id"], "message": "weather?"}
    headers = {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"}
    response = requests.post(
        url + ROUTE + "ContinueConversation", json=body, headers=headers, timeout=30
    )
    assert response.json()["reply"] == "Sunny in Barcelona."
    assert {seen.path for seen in fake_weather.seen} == {"/v1/search", "/v1/forecast"}

    finished = _finished(spans, "acai.chat.ChatService/ContinueConversation")
    finished = [s for s in finished if format(s.context.trace_id, "032x") == TRACE_ID]
    by_id = {s.context.span_id: s for s in finished}
    (rpc,) = [s for s in finished if s.name == "acai.chat.ChatService/ContinueConversation"]
    assert format(rpc.parent.span_id, "016x") == CALLER_SPAN
    assert rpc.attributes["rpc.system"] == "twirp"
    assert rpc.attributes["rpc.method"] == "ContinueConversation"
    assert rpc.attributes["http.response.status_code"] == 200

    # caller → RPC → model call (asks for the tool) → tool call → model call (answers)
    asks, answers = sorted(
        (s for s in finished if s.name == "chat gpt-test"), key=lambda s: s.start_time
    )
    (tool,) = [s for s in finished if s.name == "execute_tool get_weather"]
    for span in (asks, tool, answers):
        assert rpc in _ancestors(span, by_id), span.name
    assert asks.end_time <= tool.start_time
    assert tool.end_time <= answers.start_time
    assert asks.attributes["chat.operation"] == answers.attributes["chat.operation"] == "reply"
    assert answers.attributes["gen_ai.usage.input_tokens"] == 50
    assert answers.attributes["gen_ai.usage.output_tokens"] == 4
    assert answers.attributes["gen_ai.provider.name"] == "openai"
    assert tool.attributes["gen_ai.tool.name"] == "get_weather"
    assert tool.attributes["gen_ai.tool.call.id"] == "w1"
    assert tool.attributes["chat.tool.outcome"] == "ok"

    mongo = [s for s in finished if s.attributes.get("db.system.name") == "mongodb"]
    assert mongo
    assert all(rpc in _ancestors(s, by_id) for s in mongo)
    # A turn reads with find and writes with one bulkWrite (see adapters/mongo/turn_storage).
    assert {"find", "bulkWrite"} <= {s.attributes["db.operation.name"] for s in mongo}
    assert "weather?" not in str([dict(s.attributes) for s in finished])


def test_without_traceparent_a_new_trace_starts_and_probes_are_not_traced(traced):
    url, spans = traced
    spans.clear()
    requests.post(url + ROUTE + "ListConversations", json={}, timeout=30)
    requests.get(url + "/health", timeout=30)
    finished = _finished(spans, "acai.chat.ChatService/ListConversations")
    (rpc,) = [s for s in finished if s.name == "acai.chat.ChatService/ListConversations"]
    assert rpc.parent is None
    assert not [s for s in finished if s.attributes.get("http.route") == "/health"]
