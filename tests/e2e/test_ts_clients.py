"""TypeScript Twirp clients generated from the proto (protobuf-ts and twirp-ts, each in JSON and
protobuf) calling the app: the four RPCs with paging, and Twirp errors by the library's error type.

The npm project in tests/clients/ts is installed with `npm ci` when its lockfile changed since the
last install, its clients are generated with the project's protoc, compiled with tsc and run by
Node once per module (tests/clients/ts/src/main.ts); each client/encoding is one test here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TS_DIR = Path(__file__).resolve().parents[1] / "clients" / "ts"
INSTALLED_LOCK = TS_DIR / "node_modules" / ".installed-lock-sha256"
MIN_NODE_MAJOR = 18  # global fetch, used by @protobuf-ts/twirp-transport
CLIENTS = [
    ("protobuf-ts", "json"),
    ("protobuf-ts", "protobuf"),
    ("twirp-ts", "json"),
    ("twirp-ts", "protobuf"),
]
CHECKS = [
    "StartConversation",
    "ContinueConversation",
    "DescribeConversation",
    "DescribeConversation paging",
    "ListConversations paging",
    "not_found error",
    "invalid_argument error",
]

# The first run on a fresh machine downloads the npm packages.
pytestmark = pytest.mark.timeout(600)


def _run(*command: str, timeout_s: float, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command,
        cwd=TS_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result.stdout


def _install(npm: str) -> None:
    """Runs `npm ci` unless node_modules was installed from the current lockfile."""
    lock_hash = hashlib.sha256((TS_DIR / "package-lock.json").read_bytes()).hexdigest()
    if INSTALLED_LOCK.is_file() and INSTALLED_LOCK.read_text() == lock_hash:
        return
    _run(npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", timeout_s=540)
    INSTALLED_LOCK.write_text(lock_hash)


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not on PATH: the TypeScript client tests need Node.js 18+")
    version = _run(node, "--version", timeout_s=30).strip()
    if int(version.lstrip("v").split(".")[0]) < MIN_NODE_MAJOR:
        pytest.skip(f"node {version} is older than {MIN_NODE_MAJOR}: no global fetch")
    _install(npm)
    _run(npm, "run", "--silent", "generate", env={"PYTHON": sys.executable}, timeout_s=60)
    _run(npm, "run", "--silent", "build", timeout_s=180)
    return node


@pytest.fixture(scope="module")
def results(node: str, server_url: str) -> dict[tuple[str, str], dict]:
    """Runs every client against the app once; returns each client/encoding's result."""
    result = subprocess.run(
        [node, "build/src/main.js", server_url],
        cwd=TS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    summary = json.loads(result.stdout)
    return {(r["client"], r["encoding"]): r for r in summary["results"]}


@pytest.mark.parametrize(("library", "encoding"), CLIENTS, ids=[f"{c}-{e}" for c, e in CLIENTS])
def test_typescript_client_passes_every_check(results, library: str, encoding: str) -> None:
    result = results[(library, encoding)]
    assert [c["name"] for c in result["checks"]] == CHECKS
    failed = {c["name"]: c["error"] for c in result["checks"] if not c["passed"]}
    assert failed == {}
    assert result["passed"] is True


def test_every_client_ran(results) -> None:
    assert sorted(results) == sorted(CLIENTS)
