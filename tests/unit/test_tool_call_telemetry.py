"""Tool calls through the runner report to Telemetry: one span and one count per call, with
the outcome the ops contract names, in the caller's trace and context."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chat_service.core.cache.tool_results import ToolResultCache, ToolVolatility
from chat_service.core.prices import PriceTable
from chat_service.observability.metrics import Metrics
from chat_service.observability.request_context import request_id
from chat_service.observability.telemetry import Telemetry
from chat_service.ports.chat_model import ToolCall
from tests.fakes.memory_cache import InMemoryResponseCache
from tests.metrics_text import samples, value
from tools.registry import ToolError, ToolRegistry
from tools.runner import ToolRunner


class Tool:
    description = "A test tool."
    parameters: ClassVar[dict] = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "additionalProperties": False,
    }

    def __init__(self, name, run):
        self.name = name
        self._run = run

    def run(self, arguments):
        return self._run(arguments)


def _fail(error):
    def run(arguments):
        raise error

    return run


@pytest.fixture
def spans():
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(spans):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics = Metrics(prices=PriceTable({}))
    return Telemetry(metrics=metrics, tracer=provider.get_tracer("test"))


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


def _text(telemetry):
    return telemetry.metrics.exposition()[0].decode()


def test_each_outcome_is_counted_and_spanned_under_the_callers_span(telemetry, spans, pool):
    seen_request_ids = []

    def ok(arguments):
        seen_request_ids.append(request_id.get())
        return "fine"

    registry = ToolRegistry(
        [
            Tool("ok", ok),
            Tool("down", _fail(ToolError("the upstream is down"))),
            Tool("crash", _fail(RuntimeError("bug"))),
        ]
    )
    runner = ToolRunner(registry, executor=pool, observer=telemetry)
    calls = [
        ToolCall("c1", "ok", "{}"),
        ToolCall("c2", "down", "{}"),
        ToolCall("c3", "crash", "{}"),
        ToolCall("c4", "ok", '{"n": "not a number"}'),
        ToolCall("c5", "made_up_by_the_model", "{}"),
    ]
    request_id.set("req-1")
    with telemetry.tracer.start_as_current_span("rpc") as rpc:
        results = runner.run_all(calls)

    assert [r.ok for r in results] == [True, False, False, False, False]
    assert seen_request_ids == ["req-1"]  # the tool ran in the caller's context
    text = _text(telemetry)
    expected = [
        ("ok", "ok"),
        ("down", "error"),
        ("crash", "error"),
        ("ok", "invalid_arguments"),
        ("unknown", "error"),  # model-made names never become label values
    ]
    for tool, outcome in expected:
        assert value(text, "tool_calls_total", tool=tool, outcome=outcome) == 1, (tool, outcome)
    assert value(text, "tool_call_duration_seconds_count", tool="ok") == 2
    tool_spans = [s for s in spans.get_finished_spans() if s.name.startswith("execute_tool ")]
    finished = {s.attributes["gen_ai.tool.call.id"]: s for s in tool_spans}
    assert sorted(finished) == ["c1", "c2", "c3", "c4", "c5"]
    for span in finished.values():
        assert span.parent.span_id == rpc.get_span_context().span_id
        assert span.context.trace_id == rpc.get_span_context().trace_id
    assert finished["c1"].name == "execute_tool ok"
    assert finished["c4"].attributes["chat.tool.outcome"] == "invalid_arguments"
    assert finished["c3"].attributes["error.type"] == "RuntimeError"
    assert finished["c5"].attributes["gen_ai.tool.name"] == "unknown"


def test_a_timed_out_call_is_counted_once_as_timeout(telemetry, spans):
    release = threading.Event()

    def slow(arguments):
        release.wait(5)
        return "late"

    with ThreadPoolExecutor(max_workers=1) as pool:
        runner = ToolRunner(
            ToolRegistry([Tool("slow", slow)]), executor=pool, timeout_s=0.05, observer=telemetry
        )
        [result] = runner.run_all([ToolCall("c1", "slow", "{}")])
        assert not result.ok
        assert value(_text(telemetry), "tool_calls_total", tool="slow", outcome="timeout") == 1
        release.set()  # the tool ends after its caller gave up on it
    text = _text(telemetry)
    assert value(text, "tool_calls_total", tool="slow", outcome="timeout") == 1
    assert [labels["outcome"] for labels, _ in samples(text, "tool_calls_total")] == ["timeout"]
    (span,) = spans.get_finished_spans()
    assert span.attributes["chat.tool.outcome"] == "timeout"


def test_a_result_reused_from_the_tool_cache_is_still_reported(telemetry, spans, pool):
    runs = []

    def weather(arguments):
        runs.append(arguments)
        return "sunny"

    results = ToolResultCache(
        InMemoryResponseCache(),
        volatility=ToolVolatility({"weather": 600}),
        max_ttl_s=3600,
        clock=lambda: datetime(2025, 6, 1, tzinfo=UTC),
    )
    runner = ToolRunner(
        ToolRegistry([Tool("weather", weather)]), executor=pool, observer=telemetry, results=results
    )

    first = runner.run_all([ToolCall("c1", "weather", '{"n": 1}')], owner="alice")
    second = runner.run_all([ToolCall("c2", "weather", '{"n": 1}')], owner="alice")

    assert [r.content for r in first + second] == ["sunny", "sunny"]
    assert len(runs) == 1  # the second came from the cache
    text = _text(telemetry)
    assert value(text, "tool_calls_total", tool="weather", outcome="ok") == 2
    tool_spans = [s for s in spans.get_finished_spans() if s.name == "execute_tool weather"]
    assert [s.attributes["gen_ai.tool.call.id"] for s in tool_spans] == ["c1", "c2"]
