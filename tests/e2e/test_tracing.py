"""Traces end to end: a caller's traceparent continues through the RPC, the model calls (real
OpenAI SDK against the fake server), a tool call (through the tool hook) and MongoDB."""

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
from chat_service.app import create_app
from chat_service.llm.base import ChatMessage, PromptRole, ToolSpec
from chat_service.llm.providers import configured_providers
from tests.fakes.openai_wire import Reply
from tests.fakes.uvicorn_thread import serve

ROUTE = "/twirp/acai.chat.ChatService/"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class ToolLoop:
    """A miniature of the assistant's tool loop, reporting through the hooks: the provider
    is observed on its own and the tool runs inside `telemetry.tool_call`."""

    def __init__(self, provider, telemetry_of):
        self._provider = provider
        self._telemetry_of = telemetry_of
        self.name = provider.name

    def complete(self, messages, *, tools=(), max_tokens=1024):
        telemetry = self._telemetry_of()
        provider = telemetry.observe_model(self._provider)
        offered = [ToolSpec("clock", "the current time", {"type": "object", "properties": {}})]
        step = provider.complete(messages, tools=offered, max_tokens=max_tokens)
        for call in step.tool_calls:
            with telemetry.tool_call(call.name, call_id=call.id):
                result = "12:00"
            messages = [
                *messages,
                ChatMessage(PromptRole.ASSISTANT, "", tool_calls=(call,)),
                ChatMessage(PromptRole.TOOL, result, tool_call_id=call.id),
            ]
        if step.tool_calls:
            step = provider.complete(messages, tools=offered, max_tokens=max_tokens)
        return step


@pytest.fixture(scope="module")
def traced(app_settings, mongo_uri):
    settings = replace(app_settings, mongo_database=f"e2e_traced_{uuid.uuid4().hex[:12]}")
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    holder = {}
    model = ToolLoop(configured_providers(settings)[0], lambda: holder["app"].state.telemetry)
    app = create_app(settings, model=model, tracer_provider=provider)
    holder["app"] = app
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


def test_a_callers_trace_continues_through_rpc_model_tool_and_mongo(traced, fake_openai):
    url, spans = traced
    started = requests.post(url + ROUTE + "StartConversation", json={"message": "hi"}, timeout=30)
    assert started.status_code == 200, started.text
    spans.clear()
    fake_openai.script(fake_openai.tool_call("clock", {}), Reply("It is noon.", usage=(50, 4)))
    body = {"conversation_id": started.json()["conversation_id"], "message": "what time is it?"}
    headers = {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"}
    response = requests.post(
        url + ROUTE + "ContinueConversation", json=body, headers=headers, timeout=30
    )
    assert response.json() == {"reply": "It is noon."}

    finished = _finished(spans, "acai.chat.ChatService/ContinueConversation")
    finished = [s for s in finished if format(s.context.trace_id, "032x") == TRACE_ID]
    by_id = {s.context.span_id: s for s in finished}
    (rpc,) = [s for s in finished if s.name == "acai.chat.ChatService/ContinueConversation"]
    assert format(rpc.parent.span_id, "016x") == CALLER_SPAN
    assert rpc.attributes["rpc.system"] == "twirp"
    assert rpc.attributes["rpc.method"] == "ContinueConversation"
    assert rpc.attributes["http.response.status_code"] == 200

    model_calls = [
        s
        for s in finished
        if s.name == "chat gpt-test" and "gen_ai.usage.input_tokens" in s.attributes
    ]
    assert all(rpc in _ancestors(s, by_id) for s in model_calls)
    assert [s.attributes["gen_ai.usage.input_tokens"] for s in model_calls][-1] == 50
    assert model_calls[-1].attributes["gen_ai.usage.output_tokens"] == 4
    assert model_calls[-1].attributes["gen_ai.provider.name"] == "openai"

    (tool,) = [s for s in finished if s.name == "execute_tool clock"]
    assert rpc in _ancestors(tool, by_id)
    assert tool.attributes["gen_ai.tool.name"] == "clock"
    assert tool.attributes["chat.tool.outcome"] == "ok"

    mongo = [s for s in finished if s.attributes.get("db.system.name") == "mongodb"]
    assert mongo
    assert all(rpc in _ancestors(s, by_id) for s in mongo)
    assert {"find", "insert"} <= {s.attributes["db.operation.name"] for s in mongo}
    assert "what time is it" not in str([dict(s.attributes) for s in finished])


def test_without_traceparent_a_new_trace_starts_and_probes_are_not_traced(traced):
    url, spans = traced
    spans.clear()
    requests.post(url + ROUTE + "ListConversations", json={}, timeout=30)
    requests.get(url + "/health", timeout=30)
    finished = _finished(spans, "acai.chat.ChatService/ListConversations")
    (rpc,) = [s for s in finished if s.name == "acai.chat.ChatService/ListConversations"]
    assert rpc.parent is None
    assert not [s for s in finished if s.attributes.get("http.route") == "/health"]
