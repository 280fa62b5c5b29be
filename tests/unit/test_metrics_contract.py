"""The metrics contract of docs/operations.md (which the dashboard and the alerts query) is
what the code emits: the same names, with the same labels."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from chat_service.core.cache.stats import CacheOutcome
from chat_service.core.prices import Price, PriceTable
from chat_service.observability.attribution import Attribution
from chat_service.observability.cache_metrics import CacheMetrics
from chat_service.observability.metrics import Metrics

OPERATIONS = Path(__file__).resolve().parents[2] / "docs/operations.md"
_ROW = re.compile(r"^\| `(?P<name>[a-z_:]+)` \|(?P<type>[^|]+)\|(?P<labels>[^|]*)\|", re.M)
_DEFAULT_COLLECTORS = ("process_", "python_")  # prometheus_client's own, single process only


def documented() -> dict[str, set[str]]:
    """Returns each metric of the table in docs/operations.md with its labels."""
    return {
        row["name"]: set(re.findall(r"`([a-z_]+)`", row["labels"]))
        for row in _ROW.finditer(OPERATIONS.read_text())
    }


def emitted(metrics: Metrics) -> dict[str, set[str]]:
    """Returns each metric in the exposition (counters with `_total`) with its labels."""
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.exposition()[0].decode()):
        if family.name.startswith(_DEFAULT_COLLECTORS):
            continue
        name = family.name + "_total" if family.type == "counter" else family.name
        labels = found.setdefault(name, set())
        for sample in family.samples:
            labels.update(set(sample.labels) - {"le"})
    return found


def test_the_documented_metrics_are_those_the_code_emits():
    weather = "tool:open-meteo-forecast"
    metrics = Metrics(prices=PriceTable({"gpt-x": Price(1.0, 1.0)}), weather_breakers=[weather])
    who = Attribution(owner="alice", platform="api", user_id="u1")
    metrics.http_request(method="GET", route="/health", status=200, seconds=0.01)
    metrics.http_in_flight.inc()
    metrics.twirp_call(service="acai.chat.ChatService", method="M", code="ok", seconds=0.1)
    for provider in ("openai", "anthropic"):
        metrics.llm.record(
            provider=provider,
            model="gpt-x",
            operation="reply",
            outcome="ok",
            seconds=0.5,
            input_tokens=10,
            output_tokens=2,
            who=who,
        )
    metrics.llm.record_first_token(provider="openai", model="gpt-x", operation="reply", seconds=1)
    metrics.set_breaker_state(weather, "open")
    metrics.cache_event("reply", hit=True)
    metrics.record_tool_call("get_weather", "ok", 0.2)
    metrics.rate_limited("ip")
    metrics.dependency_checked("mongodb", up=True)

    assert emitted(metrics) == documented()


def documented_values(metric: str, label: str) -> list[str]:
    """Returns the values the table's meaning column lists for `label` of `metric`: the
    backticked words after `label`, up to the next label or the end of the sentence."""
    row = next(r for r in _ROW.finditer(OPERATIONS.read_text()) if r["name"] == metric)
    meaning = OPERATIONS.read_text()[row.end() :].split("\n", 1)[0]
    after = meaning.split(f"`{label}`", 1)[1].split(";", 1)[0]
    return re.findall(r"`([a-z_]+)`", after)


def test_every_cache_outcome_is_a_documented_result():
    metrics = Metrics(prices=PriceTable({}))
    observer = CacheMetrics(metrics)
    for outcome in CacheOutcome:
        observer.record("tool", outcome)

    results = {
        sample.labels["result"]
        for family in text_string_to_metric_families(metrics.exposition()[0].decode())
        if family.name == "cache_requests"
        for sample in family.samples
    }
    assert sorted(results) == sorted(documented_values("cache_requests_total", "result"))
    assert documented_values("cache_requests_total", "kind") == ["reply", "title", "tool"]
