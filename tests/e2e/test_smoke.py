"""The smoke test against the running app: passes on a healthy service, fails loudly otherwise."""

from __future__ import annotations

import io
import os
import re
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
        "DeleteConversation",
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

    assert smoke.main(["--url", server_url], out=out, environ={}) == 0

    report = out.getvalue()
    statuses = _statuses(report)
    assert list(statuses) == ["health", "ready", "metrics", *CONVERSATION_STEPS]
    assert all(statuses[name] == "PASS" for name in statuses if name != "metrics")
    # Served once the metrics land; until then a missing /metrics is a warning.
    assert statuses["metrics"] in ("PASS", "WARN")
    assert report.splitlines()[-1].startswith("smoke test ok: 13 checks")
    assert len(report.splitlines()) <= 24  # one screen


def _started(report: str) -> list[str]:
    return re.findall(r"StartConversation .* id ([0-9a-f]{24})", report)


def test_the_smoke_test_deletes_the_conversations_it_made(server_url, rpc):
    out = io.StringIO()

    assert smoke.main(["--url", server_url], out=out, environ={}) == 0

    made = _started(out.getvalue())
    assert len(set(made)) == 2, out.getvalue()
    for conversation_id in made:
        described = rpc("DescribeConversation", {"conversation_id": conversation_id})
        assert described.status_code == 404, described.text


def test_keep_leaves_them(server_url, rpc):
    out = io.StringIO()

    assert smoke.main(["--url", server_url, "--keep"], out=out, environ={}) == 0

    assert "protobuf DeleteConversation" not in _statuses(out.getvalue())
    made = _started(out.getvalue())
    assert len(made) == 2
    for conversation_id in made:
        assert rpc("DescribeConversation", {"conversation_id": conversation_id}).status_code == 200


def test_a_conversation_whose_step_failed_is_still_deleted(server_url, fake_openai, rpc):
    # Start's reply and title, then a refusal for the first Continue (not retried: a 400).
    fake_openai.script("Hello.", "Smoke Test", fake_openai.error(400, "refused on purpose"))
    out = io.StringIO()

    assert smoke.main(["--url", server_url], out=out, environ={}) == 1

    statuses = _statuses(out.getvalue())
    assert statuses["protobuf ContinueConversation"] == "FAIL"
    assert statuses["protobuf DeleteConversation"] == "PASS"
    assert "protobuf DescribeConversation" not in statuses
    for conversation_id in _started(out.getvalue()):
        assert rpc("DescribeConversation", {"conversation_id": conversation_id}).status_code == 404


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
    assert "PASS  json DeleteConversation" in result.stdout


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
