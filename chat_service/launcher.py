"""`python -m chat_service.launcher`: runs the service under uvicorn as the settings say.

The one place that turns WORKERS and SHUTDOWN_GRACE_S into uvicorn options and selects the HTTP
protocol that enforces MAX_HEADER_BYTES and HEADER_TIMEOUT_S: the container image, the Kubernetes
Deployment and `make run` all start the service through `uvicorn_argv`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

from chat_service.config import Settings, SettingsError
from chat_service.drain import clear_drain_marker
from chat_service.observability.logs import UVICORN_LOG_CONFIG

APP_FACTORY = "chat_service.composition.app:create_app"
HTTP_PROTOCOL = "chat_service.edge.http_protocol:HeaderLimitedHttpToolsProtocol"
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def uvicorn_argv(settings: Settings, *, python: str = sys.executable) -> list[str]:
    """Returns the command line that serves the app on the configured host and port, with
    WORKERS processes and SHUTDOWN_GRACE_S seconds for in-flight requests when stopped.

    Requests go through HTTP_PROTOCOL, which takes MAX_HEADER_BYTES and HEADER_TIMEOUT_S from
    the app (uvicorn's own protocols read headers of any size for any time).

    uvicorn logs at LOG_LEVEL in the app's JSON format from the start (its supervisor too),
    without its access log: the app writes one structured line per request.

    On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish for up to the
    grace period, then cancels what is left and runs the app's shutdown.
    """
    argv = [
        *(python, "-m", "uvicorn", "--factory", APP_FACTORY),
        *("--host", settings.host, "--port", str(settings.port)),
        *("--http", HTTP_PROTOCOL),
        # uvicorn's own access log costs ~90 µs a request; the app writes its own lines.
        "--no-access-log",
        *("--log-config", str(UVICORN_LOG_CONFIG), "--log-level", settings.log_level.lower()),
        # The client address (for rate limits) comes from TRUSTED_PROXIES alone
        # (chat_service.edge.client_identity); uvicorn must not rewrite it from X-Forwarded-For.
        "--no-proxy-headers",
        *("--timeout-graceful-shutdown", str(settings.shutdown_grace_s)),
    ]
    if settings.workers > 1:
        # Several workers on the asyncio loop stall ~40 ms per response (Nagle, uvicorn issue
        # 3149); uvloop does not. Named, not left to "auto", so a missing uvloop fails loudly.
        argv += ["--workers", str(settings.workers), "--loop", "uvloop"]
    return argv


def prepare_multiprocess_dir(environ: MutableMapping[str, str], *, workers: int) -> Path | None:
    """Makes PROMETHEUS_MULTIPROC_DIR ready for a new set of workers and returns it, or None
    when it is unset and one worker keeps its metrics in memory.

    With several workers and no directory set, creates a fresh one under the temp dir and sets
    it in `environ`, so every worker writes its samples there and /metrics sums them. A set
    directory is created if missing and emptied of the `*.db` files an earlier run left (they
    would be added to this run's counters); nothing else in it is touched.
    """
    configured = environ.get(MULTIPROCESS_DIR_VARIABLE, "").strip()
    if not configured:
        if workers <= 1:
            return None
        configured = tempfile.mkdtemp(prefix="prometheus-multiproc-")
        environ[MULTIPROCESS_DIR_VARIABLE] = configured
    directory = Path(configured)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


def main() -> int:
    """Replaces this process with uvicorn; returns 2 (without starting it) on bad settings."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"chat_service.launcher: error: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    prepare_multiprocess_dir(env, workers=settings.workers)
    clear_drain_marker(settings.drain_file)
    argv = uvicorn_argv(settings)
    # exec: uvicorn becomes this process, so the stop signal of a container reaches it directly.
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    sys.exit(main())
