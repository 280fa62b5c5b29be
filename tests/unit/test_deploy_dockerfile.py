"""infra/Dockerfile, checked statically: multi-stage, unprivileged, healthy, and consistent."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from chat_service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "infra/Dockerfile"
BUILD_TOOLS = re.compile(r"\b(apt-get|apk|gcc|g\+\+|make|build-essential|pip3? install)\b")


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            result.append((keyword.upper(), " ".join(arguments.split())))
    return result


@pytest.fixture(scope="module")
def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage, in order."""
    found: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, arguments))
    return found


def _args(stage, keyword: str) -> list[str]:
    return [arguments for k, arguments in stage if k == keyword]


def test_the_parser_reads_continuations_and_comments():
    parsed = instructions("# c\nFROM a AS b\nRUN x \\\n    && y\n# RUN z\nUSER 1\n")
    assert parsed == [("FROM", "a AS b"), ("RUN", "x && y"), ("USER", "1")]


def test_multi_stage_with_no_build_tools_in_the_final_image(stages):
    assert len(stages) >= 2
    builder_name = _args(stages[0], "FROM")[0].split(" AS ")[-1]
    final = stages[-1]
    assert not any(BUILD_TOOLS.search(run) for run in _args(final, "RUN"))
    copies = _args(final, "COPY")
    assert any(copy.startswith(f"--from={builder_name} ") for copy in copies)
    assert all(copy.startswith("--from=") for copy in copies), "sources stay in the builder"


def test_the_final_stage_runs_as_an_unprivileged_numeric_user(stages):
    users = _args(stages[-1], "USER")
    assert users, "no USER: the container would run as root"
    assert users[-1].isdigit()
    assert int(users[-1]) != 0


def test_healthcheck_port_and_command_agree_with_the_settings(stages):
    final = stages[-1]
    environment = dict(
        pair.split("=", 1) for env in _args(final, "ENV") for pair in env.split() if "=" in pair
    )
    settings = Settings.from_env(environment)
    assert settings.host == "0.0.0.0"
    assert _args(final, "EXPOSE") == [str(settings.port)]
    healthcheck = _args(final, "HEALTHCHECK")[0]
    assert "/health" in healthcheck
    assert "os.environ.get('PORT', '8080')" in healthcheck
    command = json.loads(_args(final, "CMD")[-1])
    assert command == ["python", "-m", "chat_service.launcher"]
    assert importlib.util.find_spec("chat_service.launcher") is not None
    assert _args(final, "STOPSIGNAL") == ["SIGTERM"]


def test_copied_sources_exist_in_the_build_context(stages):
    for stage in stages:
        for copy in _args(stage, "COPY"):
            if copy.startswith("--from="):
                continue
            *sources, _ = copy.split()
            for source in sources:
                assert (ROOT / source).exists(), source


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = set((ROOT / "infra/Dockerfile.dockerignore").read_text().split())
    assert {".env", ".git", ".venv", "var", "backups"} <= ignored
