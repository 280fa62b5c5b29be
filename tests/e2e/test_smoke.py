"""The smoke test against the running app: passes on a healthy service, fails loudly otherwise."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from ops import smoke
from tests.fakes.uvicorn_thread import free_port

CONVERSATION_STEPS = [
    f"{wire} {method}"
    for wire in ("protobuf", "json")
    for method in (
        "StartConversation",
        "ContinueConversation",
        "DescribeConversation",
        "ListConversations",
    )
]


def _statuses(report: str) -> dict[str, str]:
    statuses = {}
    for line in report.splitlines()[1:-1]:
        status, rest = line.split(maxsplit=1)
        name = rest.split("  ")[0].strip()
        statuses[name] = status
    return statuses


def test_a_healthy_service_passes_every_check(server_url):
    out = io.StringIO()

    assert smoke.main(["--url", server_url], out=out) == 0

    report = out.getvalue()
    statuses = _statuses(report)
    assert list(statuses) == ["health", "ready", "metrics", *CONVERSATION_STEPS]
    assert all(statuses[name] == "PASS" for name in statuses if name != "metrics")
    # Served once the metrics land; until then a missing /metrics is a warning.
    assert statuses["metrics"] in ("PASS", "WARN")
    assert report.splitlines()[-1].startswith("smoke test ok: 11 checks")
    assert len(report.splitlines()) <= 24  # one screen


def test_the_command_line_runs_against_the_service(server_url):
    result = subprocess.run(
        [sys.executable, "-m", "ops.smoke", "--timeout-s", "30"],
        env={**os.environ, "SMOKE_URL": server_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"smoke test of {server_url}" in result.stdout


def test_a_service_that_is_not_there_fails_every_check():
    url = f"http://127.0.0.1:{free_port()}"
    out = io.StringIO()

    assert smoke.main(["--url", url, "--timeout-s", "2"], out=out) == 1

    statuses = _statuses(out.getvalue())
    assert statuses["health"] == statuses["ready"] == "FAIL"
    # A conversation stops at its first failed step.
    assert statuses["protobuf StartConversation"] == statuses["json StartConversation"] == "FAIL"
    assert "protobuf ContinueConversation" not in statuses
    assert out.getvalue().splitlines()[-1] == "smoke test FAILED: 5 of 5 checks failed"
