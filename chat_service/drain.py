"""`python -m chat_service.drain SECONDS`: takes the instance out of the load balancer, then
waits while it does (the pod's preStop hook).

Draining is a file, DRAIN_FILE, on a volume every worker of the instance sees: while it exists
`/ready` answers 503 in each of them. The hook creates it and sleeps SECONDS, so the endpoints
drop the pod before uvicorn gets SIGTERM and stops accepting connections; the launcher removes
a marker left by an earlier run of the container before uvicorn starts.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from chat_service.config import Settings, SettingsError


def is_draining(drain_file: str) -> bool:
    """Returns whether the instance drains: DRAIN_FILE is set and exists."""
    return bool(drain_file) and Path(drain_file).exists()


def start_draining(drain_file: str) -> None:
    """Creates the marker (and its directory); raises OSError if it cannot."""
    path = Path(drain_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def clear_drain_marker(drain_file: str) -> None:
    """Removes a marker an earlier run left, so a restarted container gets ready again."""
    if drain_file:
        Path(drain_file).unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None, *, sleep: Callable[[float], None] = time.sleep) -> int:
    """Marks the instance as draining and waits; returns the exit status (2 on bad settings)."""
    parser = argparse.ArgumentParser(prog="python -m chat_service.drain", description=__doc__)
    parser.add_argument("seconds", type=float, help="how long to wait once marked")
    seconds = parser.parse_args(argv).seconds
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"chat_service.drain: error: {exc}", file=sys.stderr)
        return 2
    if settings.drain_file:
        start_draining(settings.drain_file)
    else:
        print("chat_service.drain: DRAIN_FILE is not set; /ready stays as it is", file=sys.stderr)
    sleep(max(0.0, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
