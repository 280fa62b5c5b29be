"""Metrics: names and values, bounded user ids, cost from the price table, the hooks."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chat_service.core.errors import ModelUnavailable
from chat_service.core.prices import Price, PriceTable
from chat_service.edge.middleware.metrics import HttpMetricsMiddleware
from chat_service.edge.middleware.routes import RouteLabels
from chat_service.observability.attribution import Attribution, bind_attribution, llm_operation
from chat_service.observability.metrics import Metrics
from chat_service.observability.model_observer import ObservedChatModel
from chat_service.observability.telemetry import Telemetry
from chat_service.ports.chat_model import ChatMessage, Completion, PromptRole, Usage
from tests.fakes.scripted_model import ScriptedChatModel
from tests.metrics_text import samples, value

WHO = Attribution(owner="alice", platform="telegram", user_id="u1")


WEATHER = ("tool:open-meteo-geocoding", "tool:open-meteo-forecast")


@pytest.fixture
def metrics():
    return Metrics(
        prices=PriceTable({"gpt-x": Price(1.0, 2.0)}), user_cap=5, weather_breakers=WEATHER
    )


def _text(metrics):
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    return body.decode()


def _call(metrics, user_id="u1", **kwargs):
    args = {
        "provider": "openai",
        "model": "gpt-x",
        "operation": "reply",
        "outcome": "ok",
        "seconds": 0.25,
        "input_tokens": 100,
        "output_tokens": 20,
        "who": Attribution("alice", "telegram", user_id),
    }
    metrics.llm.record(**{**args, **kwargs})


def test_a_model_call_counts_requests_tokens_and_cost(metrics):
    _call(metrics)
    _call(metrics, operation="title", input_tokens=10, output_tokens=3)
    text = _text(metrics)
    reply = {"operation": "reply", "model": "gpt-x", "user_id": "u1", "platform": "telegram"}
    assert value(text, "openai_tokens_input_total", **reply) == 100
    assert value(text, "openai_tokens_output_total", **reply) == 20
    assert value(text, "openai_tokens_total", **reply) == 120
    assert value(text, "openai_requests_total", **reply) == 1
    assert value(text, "openai_request_duration_ms_sum", **reply) == 250
    assert value(text, "llm_tokens_total", type="input", owner="alice") == 110
    assert value(text, "llm_requests_total", provider="openai", outcome="ok") == 2
    assert value(text, "llm_cost_usd_total", owner="alice") == pytest.approx(
        (110 * 1.0 + 23 * 2.0) / 1e6
    )


def test_spend_and_tokens_are_also_counted_without_any_user_label(metrics):
    for n in range(50):
        _call(metrics, user_id=f"user-{n}")
    text = _text(metrics)
    spend = samples(text, "llm_spend_usd_total")
    assert [labels for labels, _ in spend] == [{"provider": "openai", "model": "gpt-x"}]
    assert spend[0][1] == pytest.approx(50 * (100 * 1.0 + 20 * 2.0) / 1e6)
    tokens = dict(
        (labels["kind"], number) for labels, number in samples(text, "llm_usage_tokens_total")
    )
    assert tokens == {"input": 50 * 100, "output": 50 * 20}
    assert {frozenset(labels) for labels, _ in samples(text, "llm_usage_tokens_total")} == {
        frozenset({"provider", "model", "kind"})
    }


def test_other_providers_use_the_generic_names_only(metrics):
    _call(metrics, provider="anthropic")
    text = _text(metrics)
    assert value(text, "llm_tokens_total", provider="anthropic") == 120
    assert value(text, "openai_tokens_total") == 0


def test_ten_thousand_user_ids_make_no_more_series_than_the_cap(metrics):
    for n in range(10_000):
        _call(metrics, user_id=f"user-{n}")
    text = _text(metrics)
    user_ids = {labels["user_id"] for labels, _ in samples(text, "openai_tokens_total")}
    assert user_ids == {f"user-{n}" for n in range(5)} | {"other"}
    assert value(text, "openai_tokens_total") == 10_000 * 120  # nothing is lost


def test_an_unpriced_model_costs_nothing_but_is_counted(metrics):
    _call(metrics, model="mystery-model")
    text = _text(metrics)
    assert value(text, "llm_cost_usd_total") == 0
    assert value(text, "llm_tokens_total", model="mystery-model") == 120


def test_prices_match_dated_models_by_prefix_and_the_setting_overrides():
    table = PriceTable.from_json('{"gpt-4o-mini": {"input": 1, "output": 1}}')
    assert table.price_of("gpt-4o-mini-2024-07-18") == Price(1.0, 1.0)
    assert table.price_of("gpt-4o-2024-08-06") == Price(2.5, 10.0)
    assert table.price_of("unknown") is None
    for bad in ("[1]", "{", '{"m": {"input": -1, "output": 1}}', '{"m": 3}'):
        with pytest.raises(ValueError, match=r"."):
            PriceTable.from_json(bad)


def test_hooks_for_tools_caches_rate_limits_and_dependencies(metrics):
    metrics.record_tool_call("get_weather", "ok", 0.1)
    metrics.record_tool_call("get_weather", "invalid_arguments", 0.2)
    metrics.cache_event("title", hit=True)
    metrics.cache_event("title", hit=False)
    metrics.cache_event("title", hit=False)
    metrics.rate_limited("key")
    metrics.dependency_checked("mongodb", up=True)
    metrics.dependency_checked("redis", up=False)
    text = _text(metrics)
    assert value(text, "tool_calls_total", tool="get_weather", outcome="invalid_arguments") == 1
    assert value(text, "tool_call_duration_seconds_count", tool="get_weather") == 2
    assert value(text, "cache_requests_total", kind="title", result="miss") == 2
    assert value(text, "rate_limit_rejections_total", scope="key") == 1
    assert samples(text, "dependency_up") == [
        ({"dependency": "mongodb"}, 1),
        ({"dependency": "redis"}, 0),
    ]


def test_breaker_states_are_pushed_on_change_and_read_at_each_scrape(metrics):
    board = {"llm:openai:gpt-x": "half_open", WEATHER[0]: "closed", WEATHER[1]: "closed"}
    metrics.watch_breakers(lambda: dict(board))
    board["llm:openai:gpt-x"] = "closed"
    metrics.set_breaker_state(WEATHER[1], "open")  # a transition, pushed
    board[WEATHER[1]] = "open"
    text = _text(metrics)
    assert value(text, "circuit_breaker_state", name="llm:openai:gpt-x") == 0  # read at scrape
    assert value(text, "circuit_breaker_state", name=WEATHER[1]) == 1
    # The original's weather_circuit_state: the worst of the weather tool's breakers.
    assert value(text, "weather_circuit_state") == 1
    board[WEATHER[1]] = "half_open"
    assert value(_text(metrics), "weather_circuit_state") == 2
    board[WEATHER[1]] = "closed"
    assert value(_text(metrics), "weather_circuit_state") == 0
    with pytest.raises(ValueError, match="ajar"):
        metrics.set_breaker_state("x", "ajar")


class Model:
    name = "openai:gpt-x"

    def __init__(self, fail=False):
        self.fail = fail

    def complete(self, messages, *, tools=(), max_tokens=1024, on_text=None):
        if self.fail:
            raise ModelUnavailable("down")
        return Completion("hi", usage=Usage(7, 3), model="gpt-x-2025")


def test_observed_model_reports_spans_and_attributed_metrics(metrics):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(metrics=metrics, tracer=provider.get_tracer("t"))
    bind_attribution(owner="bob", platform="web", user_id="w1")
    with llm_operation("title"):
        telemetry.observe_model(Model()).complete([ChatMessage(PromptRole.USER, "x")], max_tokens=9)
    with pytest.raises(ModelUnavailable):
        telemetry.observe_model(Model(fail=True)).complete([])
    text = _text(metrics)
    assert (
        value(text, "openai_tokens_input_total", operation="title", user_id="w1", platform="web")
        == 7
    )
    assert value(text, "llm_requests_total", outcome="unavailable", operation="chat") == 1
    ok, failed = exporter.get_finished_spans()
    assert ok.attributes is not None
    assert failed.attributes is not None
    assert ok.name == "chat gpt-x"
    assert ok.attributes["gen_ai.request.model"] == "gpt-x"
    assert ok.attributes["gen_ai.response.model"] == "gpt-x-2025"
    assert ok.attributes["gen_ai.request.max_tokens"] == 9
    assert (
        ok.attributes["gen_ai.usage.input_tokens"],
        ok.attributes["gen_ai.usage.output_tokens"],
    ) == (7, 3)
    assert failed.attributes["error.type"] == "ModelUnavailable"
    assert not failed.status.is_ok


def test_http_metrics_use_route_templates_and_count_twirp_calls(metrics):
    async def item(request):
        return PlainTextResponse("x")

    class Twirp:  # a raw ASGI app, like the edge
        async def __call__(self, scope, receive, send):
            scope["state"]["twirp_error"] = "bad_route"
            await PlainTextResponse("no", status_code=404)(scope, receive, send)

    routes = [Route("/items/{item_id}", item)]
    labels = RouteLabels(routes, twirp_paths={"/twirp/a.S/M"})
    app = Starlette(
        routes=[*routes, Route("/twirp/a.S/M", Twirp(), methods=["POST"])],
        middleware=[
            Middleware(
                HttpMetricsMiddleware,
                metrics=metrics,
                route_of=labels,
                twirp_paths={"/twirp/a.S/M"},
            )
        ],
    )
    with TestClient(app) as client:
        for n in range(50):
            client.get(f"/items/{n}")
        client.request("BREW", "/items/1")
        client.post("/twirp/a.S/M")
        client.get("/random/path/1")
    text = _text(metrics)
    routes_seen = {labels["route"] for labels, _ in samples(text, "http_requests_total")}
    assert routes_seen == {"/items/{item_id}", "/twirp/a.S/M", "unmatched"}
    assert (
        value(text, "http_requests_total", method="GET", route="/items/{item_id}", status="200")
        == 50
    )
    assert value(text, "http_requests_total", method="other") == 1
    assert value(text, "twirp_requests_total", service="a.S", method="M", code="bad_route") == 1
    assert value(text, "http_requests_in_flight") == 0


def test_a_model_without_a_provider_in_its_name_is_its_own_provider(metrics):
    class Offline:
        name = "offline"

        def complete(self, messages, *, tools=(), max_tokens=1024, on_text=None):
            return Completion("hi", usage=Usage(), model="offline")

    telemetry = Telemetry(metrics=metrics, tracer=TracerProvider().get_tracer("t"))
    telemetry.observe_model(Offline()).complete([ChatMessage(PromptRole.USER, "x")])
    text = _text(metrics)
    assert value(text, "llm_requests_total", provider="offline", model="offline") == 1


def _observed(metrics, model, clock):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    return ObservedChatModel(model, metrics=metrics, tracer=tracer, clock=clock), exporter


def test_a_streamed_call_reports_its_time_to_first_token(metrics):
    clock = iter([10.0, 10.25, 11.0]).__next__  # start, first delta, end
    model, exporter = _observed(metrics, ScriptedChatModel("a b c", name="openai:gpt-x"), clock)
    deltas: list[str] = []

    model.complete([ChatMessage(PromptRole.USER, "x")], on_text=deltas.append)

    text = _text(metrics)
    assert deltas == ["a", " b", " c"]
    assert value(text, "llm_time_to_first_token_seconds_sum", provider="openai") == 0.25
    assert value(text, "llm_time_to_first_token_seconds_count", model="gpt-x") == 1
    assert value(text, "llm_request_duration_seconds_sum", provider="openai") == 1.0
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.response.time_to_first_chunk"] == 0.25


def test_a_call_without_a_sink_reports_no_first_token(metrics):
    clock = iter([1.0, 2.0]).__next__
    model, _ = _observed(metrics, ScriptedChatModel("a b", name="openai:gpt-x"), clock)

    model.complete([ChatMessage(PromptRole.USER, "x")])

    assert value(_text(metrics), "llm_time_to_first_token_seconds_count") == 0


def test_a_stream_the_caller_stops_counts_as_cancelled_not_failed(metrics):
    class Cancelled(Exception):
        pass

    def sink(text: str) -> None:
        raise Cancelled

    model, _ = _observed(
        metrics, ScriptedChatModel("a b", name="openai:gpt-x"), iter(range(9)).__next__
    )

    with pytest.raises(Cancelled):
        model.complete([ChatMessage(PromptRole.USER, "x")], on_text=sink)

    text = _text(metrics)
    assert value(text, "llm_requests_total", outcome="cancelled") == 1
    assert value(text, "llm_requests_total", outcome="error") == 0
    assert value(text, "llm_time_to_first_token_seconds_count") == 1
