"""The smoke test's judgement of /metrics and /health answers, and its report."""

from __future__ import annotations

import io

import pytest
import requests

from ops.smoke import (
    FAIL,
    PASS,
    WARN,
    Check,
    Tolerated,
    _metrics_check,
    _status_check,
    default_url,
    print_report,
)
from ops.smoke_conversation import SmokeFailure

EXPOSITION = """# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/ready",status="200"} 3.0
"""


def _response(status: int, body: str, content_type: str = "text/plain") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers["Content-Type"] = content_type
    return response


def test_metrics_with_the_request_counter_pass():
    assert _metrics_check(_response(200, EXPOSITION), with_key=False) == "200, 1 metric families"


@pytest.mark.parametrize(
    ("status", "with_key", "outcome"),
    [(404, False, Tolerated), (404, True, Tolerated), (401, False, Tolerated),
     (401, True, SmokeFailure), (500, False, SmokeFailure)],
)  # fmt: skip
def test_metrics_gaps_warn_and_errors_fail(status, with_key, outcome):
    with pytest.raises(outcome):
        _metrics_check(_response(status, ""), with_key=with_key)


def test_metrics_without_the_request_counter_fail():
    with pytest.raises(SmokeFailure, match="no http_requests_total among 1"):
        _metrics_check(
            _response(200, "# TYPE other_total counter\nother_total 1\n"), with_key=False
        )


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, '{"status": "degraded"}'), (503, '{"status": "healthy"}'), (200, "<html>")],
)
def test_health_other_than_healthy_fails(status, body):
    with pytest.raises(SmokeFailure):
        _status_check(_response(status, body, "application/json"), expected="healthy")


def test_the_report_fits_a_line_per_check_and_ends_with_the_verdict():
    checks = [
        Check("health", PASS, "200 healthy", 3.2),
        Check("metrics", WARN, "not served (404)", 1.0),
        Check("json StartConversation", FAIL, "x" * 200, 12.0),
    ]
    out = io.StringIO()
    assert print_report("http://host:1", checks, out) is False
    lines = out.getvalue().splitlines()
    assert lines[0] == "smoke test of http://host:1"
    assert lines[3].startswith("  FAIL  json StartConversation")
    assert all(len(line) <= 130 for line in lines)
    assert lines[-1] == "smoke test FAILED: 1 of 3 checks failed"
    out = io.StringIO()
    assert print_report("u", checks[:2], out) is True
    assert out.getvalue().splitlines()[-1] == "smoke test ok: 2 checks, 1 warning"


def test_the_default_url_follows_smoke_url_then_port(tmp_path):
    env_file = tmp_path / ".env"
    assert default_url({}, env_file) == "http://127.0.0.1:8080"
    env_file.write_text("PORT=9100\n")
    assert default_url({}, env_file) == "http://127.0.0.1:9100"
    assert default_url({"PORT": "9200"}, env_file) == "http://127.0.0.1:9200"
    assert default_url({"SMOKE_URL": "http://app:80"}, env_file) == "http://app:80"
