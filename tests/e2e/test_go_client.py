"""A Go client of the app: net/http with message types from protoc-gen-go (tests/clients/go).

tests/clients/go/build.sh builds it offline in GOPATH mode over Debian's golang-go and
golang-google-protobuf-dev (`make go` installs them; the test skips without them). It calls every
ChatService method in protobuf and in JSON, checks the responses field by field and decodes
Twirp errors (code, HTTP status, meta); each encoding is one test here. Against a stub that
answers every call with an empty message, every check must fail: the client does check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gen.acai.chat import chat_pb2

GO_DIR = Path(__file__).resolve().parents[1] / "clients" / "go"
BUILD_SCRIPT = GO_DIR / "build.sh"
# build.sh's exit status when go or Go's protobuf sources (golang-google-protobuf-dev) are missing
MISSING_TOOL = 3
ENCODINGS = ["protobuf", "json"]
CHECKS = [
    "StartConversation",
    "ContinueConversation",
    "ContinueConversation by session",
    "DescribeConversation",
    "DescribeConversation paging",
    "ListConversations paging",
    "UpdateConversation",
    "GetUsage",
    "CancelTurn",
    "Conversation controls",
    "EndSession",
    "not_found error",
    "invalid_argument errors",
    "DeleteConversation",
    "bad_route error",
]
# CancelTurn succeeds only on a streamed turn, which this client does not run: its answers for
# an ended unary turn and for a request without an id are checked, not counted as successes.
METHODS = sorted(
    m.name
    for m in chat_pb2.DESCRIPTOR.services_by_name["ChatService"].methods
    if m.name != "CancelTurn"
)

# A cold Go build cache compiles protoc-gen-go and the protobuf runtime first (~10-20 s).
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def go_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client binary, built by build.sh; skips when Go or its protobuf sources are missing."""
    if shutil.which("go") is None:
        pytest.skip("go is not on PATH: the Go client test needs Go (`make go` installs it)")
    binary = tmp_path_factory.mktemp("go-client") / "chatclient"
    result = subprocess.run(
        [str(BUILD_SCRIPT), str(binary)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if result.returncode == MISSING_TOOL:
        pytest.skip(result.stderr.strip())
    assert result.returncode == 0, f"build.sh failed\n{result.stdout}\n{result.stderr}"
    return binary


def _run_client(binary: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode in (0, 1), f"exit {result.returncode}\n{result.stderr}"
    summary: dict[str, Any] = json.loads(result.stdout)
    assert summary["passed"] is (result.returncode == 0)
    return summary


@pytest.fixture(scope="module")
def results(go_client: Path, server_url: str) -> dict[str, dict[str, Any]]:
    """Runs the client against the app once (the server root: it adds /twirp itself)."""
    summary = _run_client(go_client, "-echo", server_url)
    assert summary["prefix"] == "/twirp"
    return {r["encoding"]: r for r in summary["results"]}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_go_client_passes_every_check(results, encoding: str) -> None:
    result = results[encoding]
    assert result["content_type"] == f"application/{encoding}"
    assert [c["name"] for c in result["checks"]] == CHECKS
    failed = {c["name"]: c["error"] for c in result["checks"] if not c["passed"]}
    assert failed == {}
    assert result["passed"] is True


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_go_client_called_every_method(results, encoding: str) -> None:
    """Every method of the proto's ChatService answered the client at least once: a method
    added to the proto fails this until the client covers it."""
    calls = results[encoding]["calls"]
    assert sorted(calls) == METHODS
    assert all(count > 0 for count in calls.values())


def test_every_encoding_ran(results) -> None:
    assert sorted(results) == sorted(ENCODINGS)


class _EmptyAnswers(BaseHTTPRequestHandler):
    """Answers every POST 200 with an empty message in the request's encoding."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type", "")
        body = b"{}" if content_type == "application/json" else b""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def empty_answers() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyAnswers)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_go_client_fails_every_check_against_empty_answers(go_client, empty_answers) -> None:
    """Well-formed but empty responses from every method: no check may pass on them."""
    summary = _run_client(go_client, empty_answers)
    assert summary["passed"] is False
    for result in summary["results"]:
        assert [c["name"] for c in result["checks"] if c["passed"]] == []
