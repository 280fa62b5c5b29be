"""The command-line tools find the dev stack that `make servers` / `make run` started, and say
in one line, quickly, when MongoDB cannot be reached."""

from __future__ import annotations

import importlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.uvicorn_thread import free_port
from tests.stack_environ import without_stack_settings

ROOT = Path(__file__).resolve().parents[2]


def _cli(cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=without_stack_settings(**extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_cli_uses_the_running_stack_when_nothing_is_configured(dev_servers, tmp_path):
    process, exports = dev_servers
    records = list((tmp_path / "var/stack").glob("*.json"))
    assert [json.loads(r.read_text())["mongo_uri"] for r in records] == [exports["MONGO_URI"]]

    migrated = _cli(tmp_path, "migrations", "up")
    assert migrated.returncode == 0, migrated.stderr
    assert "applied v0001" in migrated.stdout
    created = _cli(tmp_path, "chat_service.keys", "create", "--owner", "alice")
    assert created.returncode == 0, created.stderr
    listed = _cli(tmp_path, "chat_service.keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert "alice" in listed.stdout
    backup = _cli(tmp_path, "ops.backup", "--out-dir", str(tmp_path / "backups"), "--name", "b")
    assert backup.returncode == 0, backup.stderr
    restored = _cli(tmp_path, "ops.restore", str(tmp_path / "backups/b"), "--drop")
    assert restored.returncode == 0, restored.stderr

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert list((tmp_path / "var/stack").glob("*.json")) == []


def test_the_environment_wins_over_the_running_stack(dev_servers, tmp_path):
    unreachable = f"mongodb://127.0.0.1:{free_port()}"
    listed = _cli(tmp_path, "chat_service.keys", "list", MONGO_URI=unreachable)
    assert listed.returncode == 1
    assert unreachable in listed.stderr


def test_a_record_left_by_a_killed_stack_is_ignored_and_removed(tmp_path):
    stack = tmp_path / "var/stack"
    stack.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    (stack / f"{pid}.json").write_text(
        json.dumps(
            {
                "kind": "servers",
                "pid": pid,
                "redis_url": "redis://127.0.0.1:1/0",
                "mongo_uri": "mongodb://127.0.0.1:1/",
                "started_at": time.time(),
            }
        )
    )
    listed = _cli(tmp_path, "chat_service.keys", "list")
    assert listed.returncode == 1
    assert "no dev stack is running" in listed.stderr
    assert list(stack.iterdir()) == []


COMMANDS = [
    ("chat_service.keys", "list"),
    ("chat_service.keys", "create", "--owner", "alice"),
    ("chat_service.keys", "revoke", "3f9c1a0b2d4e"),
    ("migrations", "status"),
    ("migrations", "up"),
    ("ops.backup", "--out-dir", "backups"),
    ("ops.restore", "backup", "--drop"),
    ("ops.owner", "export", "--owner", "alice"),
    ("ops.owner", "erase", "--owner", "alice", "--yes"),
]


@pytest.fixture
def unreachable_uri(tmp_path, monkeypatch):
    """A MONGO_URI nothing answers at, set for the test, run from `tmp_path` with a backup."""
    (tmp_path / "backup/acai").mkdir(parents=True)
    (tmp_path / "backup/acai/things.bson").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    uri = f"mongodb://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MONGO_URI", uri)
    return uri


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_cli_that_cannot_reach_mongodb_says_so_in_one_line(command, tmp_path, unreachable_uri):
    done = _cli(tmp_path, *command, MONGO_URI=unreachable_uri)

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""  # no table header, no "restoring ..." before the failure
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"cannot reach MongoDB at {unreachable_uri} within 2 s (MONGO_URI)" in lines[0]
    assert "Topology" not in lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_cli_gives_up_on_mongodb_after_2_s(command, unreachable_uri, capsys):
    # In-process, so the interpreter's start-up (a second or more on a busy machine) is not
    # counted: the wait for the server is what the limit is about.
    module, *argv = command
    main = importlib.import_module(module if module != "migrations" else "migrations.__main__")
    started = time.monotonic()

    assert main.main(argv) == 1

    assert time.monotonic() - started < 3.0
    assert capsys.readouterr().out == ""
