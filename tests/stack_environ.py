"""The environment of a fresh shell for the dev-stack tests: no MongoDB or Redis settings."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK_SETTINGS = (
    "MONGO_URI",
    "MONGODB_URI",
    "MONGO_DATABASE",
    "REDIS_URL",
    "REDIS_ADDR",
    "REDIS_CLUSTER",
)


def without_stack_settings(**extra: str) -> dict[str, str]:
    """Returns this process's environment without the MongoDB and Redis settings (as on a fresh
    shell), with the repository on PYTHONPATH and `extra` added."""
    env = {k: v for k, v in os.environ.items() if k not in STACK_SETTINGS}
    return {**env, "PYTHONPATH": str(ROOT), **extra}
