"""The Grafana dashboard and the Prometheus rules: well formed, valid PromQL (promtool, when
installed: Debian package `prometheus`), alerts that fire as their unit tests say, and only
metrics that docs/operations.md lists as the contract."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "infra/grafana/dashboards/chat-service.json"
PROMETHEUS = ROOT / "infra/prometheus"
OPERATIONS = ROOT / "docs/operations.md"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)"
)

_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "offset", "inf", "nan",
}  # fmt: skip
_BUILTIN_METRICS = {"up"}  # written by Prometheus itself


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


@pytest.fixture(scope="module")
def rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _panels(dashboard: dict) -> list[dict]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def _dashboard_queries(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in _panels(dashboard) for target in panel["targets"]]


def _as_prometheus_would_run(expr: str) -> str:
    return expr.replace("$__rate_interval", "5m").replace("$__range", "1h")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (histogram `_bucket` series by their base name)."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    stripped = re.sub(r"\{[^}]*\}", " ", stripped)  # label matchers
    stripped = re.sub(r"\[[^\]]*\]", " ", stripped)  # range selectors
    stripped = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", stripped)  # label lists
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*(?P<call>\s*\()?", stripped):
        name = match.group(0).rstrip("( \t")
        if match["call"] or name.lower() in _PROMQL_WORDS or name.startswith("$"):
            continue
        names.add(name.removesuffix("_bucket"))
    return names


def contract_metrics() -> set[str]:
    """The metric names in the table of docs/operations.md ("Metrics")."""
    return set(re.findall(r"^\| `([a-z_:]+)` \|", OPERATIONS.read_text(), flags=re.MULTILINE))


def test_metric_names_are_read_from_expressions():
    expr = (
        'histogram_quantile(0.95, sum by (le, method) (rate(x_seconds_bucket{code!="ok"}[5m])))'
        " / on (method) group_left sum without (pid) (y_total) > bool 1 and up == 0"
    )
    assert metric_names(expr) == {"x_seconds", "y_total", "up"}


def test_every_queried_metric_is_in_the_documented_contract(dashboard, rules):
    contract = contract_metrics()
    assert len(contract) >= 15
    queried = set().union(
        *(metric_names(e) for e in [*_dashboard_queries(dashboard), *(r["expr"] for r in rules)])
    )
    assert queried - contract - _BUILTIN_METRICS == set()
    # The metric list is all there: the dashboard shows each of these.
    shown = set().union(*(metric_names(e) for e in _dashboard_queries(dashboard)))
    for name in (
        "twirp_requests_total",
        "twirp_request_duration_seconds",
        "openai_tokens_total",
        "llm_cost_usd_total",
        "cache_requests_total",
        "circuit_breaker_state",
        "rate_limit_rejections_total",
        "tool_calls_total",
    ):
        assert name in shown, name


def test_dashboard_panels_are_unique_placed_and_queried(dashboard):
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    for panel in _panels(dashboard):
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"].strip("${}") in variables
        assert all(target["expr"].strip() for target in panel["targets"])


def test_every_alert_has_a_severity_and_a_runbook_section(rules):
    headings = {
        line.removeprefix("### ").strip().lower()
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("### ")
    }
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        anchor = rule["annotations"]["runbook"].split("#")[1]
        assert anchor == rule["alert"].lower()
        assert anchor in headings, f"docs/operations.md has no section {rule['alert']}"


def test_the_alerts_the_operators_rely_on_exist(rules):
    names = {rule["alert"] for rule in rules}
    assert {
        "ChatServiceHighErrorRate",
        "ChatServiceSlowTurns",
        "CircuitBreakerOpen",
        "MongoDBDown",
        "RedisDown",
        "LLMCostBurn",
    } <= names


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=120, cwd=PROMETHEUS
    )


@needs_promtool
def test_promtool_accepts_the_rules_and_the_config():
    rules = _promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = _promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_promtool_unit_tests_of_the_alerts_pass():
    result = _promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_every_dashboard_query_is_valid_promql(dashboard, tmp_path):
    records = [
        {"record": f"dashboard:query_{number}", "expr": _as_prometheus_would_run(expr)}
        for number, expr in enumerate(_dashboard_queries(dashboard))
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    result = _promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(records)} rules found" in result.stdout
