"""The `run` and `servers` commands: servers as needed, migrations, then the app under uvicorn."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from chat_service.config import Settings
from chat_service.launcher import MULTIPROCESS_DIR_VARIABLE, prepare_multiprocess_dir, uvicorn_argv
from devstack.envfile import read_env_file
from devstack.process import ServerProcess
from devstack.servers import MongoServer, RedisServer
from devstack.shutdown import Stopped, stop_on_signals

CHILD_STOP_TIMEOUT_S = 20.0
CHILD_STOP_MARGIN_S = 10.0

_Server = TypeVar("_Server", bound=ServerProcess)


def run(*, root: Path, environ: Mapping[str, str]) -> int:
    """Runs the app under uvicorn until it exits or SIGINT/SIGTERM stops it.

    `root/.env` supplies variables missing from `environ`. Starts Redis unless REDIS_URL or
    REDIS_ADDR is set, and secantusd-py unless MONGO_URI or MONGODB_URI is set, with data under
    `root/var`; applies migrations first; stops all it started. With WORKERS > 1 the workers share
    a fresh PROMETHEUS_MULTIPROC_DIR (`root/var/prometheus-multiproc`, emptied at each start)
    unless one is set. A stop gives uvicorn SHUTDOWN_GRACE_S seconds, plus a margin, before it is
    killed. Returns uvicorn's (or the failed migration's) exit status, 0 after a signal. Raises
    SettingsError for unusable settings and ServerStartError if a server does not start.
    """
    env = {**read_env_file(root / ".env"), **environ}
    settings = Settings.from_env(env)
    data_dir = root / "var"
    with stop_on_signals():
        try:
            with ExitStack() as stack:
                if _is_set(env, "REDIS_URL", "REDIS_ADDR"):
                    redis_url = _using("Redis", settings.redis_url)
                else:
                    redis_url = _start(stack, RedisServer(data_dir / "redis")).url
                if _is_set(env, "MONGO_URI", "MONGODB_URI"):
                    mongo_uri = _using("MongoDB", settings.mongo_uri)
                else:
                    mongo_uri = _start(stack, MongoServer(data_dir / "mongo")).uri
                child_env = {
                    **env,
                    "REDIS_URL": redis_url,
                    "MONGO_URI": mongo_uri,
                    "MONGO_DATABASE": settings.mongo_database,
                }
                _say(f"applying migrations to database {settings.mongo_database!r}")
                status = run_child([sys.executable, "-m", "migrations", "up"], child_env)
                if status != 0:
                    _say(f"migrations failed (exit status {status}); not starting the app")
                    return status
                if settings.workers > 1 and not _is_set(env, MULTIPROCESS_DIR_VARIABLE):
                    child_env[MULTIPROCESS_DIR_VARIABLE] = str(
                        _fresh_dir(data_dir / "prometheus-multiproc")
                    )
                prepare_multiprocess_dir(child_env, workers=settings.workers)
                _say(
                    f"starting the app on http://{settings.host}:{settings.port}"
                    f" ({settings.workers} worker{'s' if settings.workers > 1 else ''})"
                )
                return run_child(
                    uvicorn_argv(settings),
                    child_env,
                    stop_timeout_s=settings.shutdown_grace_s + CHILD_STOP_MARGIN_S,
                )
        except Stopped as stop:
            _say(f"stopped ({stop})")
            return 0


def servers(*, data_dir: Path) -> int:
    """Starts Redis and secantusd-py with data under `data_dir`, prints `export` lines for
    REDIS_URL and MONGO_URI on stdout, and keeps them up.

    Returns 0 once SIGINT or SIGTERM stopped them, 1 if one of them exited by itself.
    """
    with stop_on_signals():
        try:
            with ExitStack() as stack:
                redis = _start(stack, RedisServer(data_dir / "redis"))
                mongo = _start(stack, MongoServer(data_dir / "mongo"))
                print(f"export REDIS_URL={redis.url}", f"export MONGO_URI={mongo.uri}", sep="\n")
                sys.stdout.flush()
                _say("servers are up; Ctrl-C stops them")
                while redis.running and mongo.running:
                    time.sleep(0.5)
                for dead in (s for s in (redis, mongo) if not s.running):
                    _say(f"{dead.name} exited by itself; see {dead.log_path}")
                return 1
        except Stopped as stop:
            _say(f"stopped ({stop})")
            return 0


def run_child(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    stop_timeout_s: float = CHILD_STOP_TIMEOUT_S,
) -> int:
    """Runs `command` in its own session and returns its exit status.

    If waiting is interrupted (Stopped, KeyboardInterrupt), sends it SIGTERM, kills it after
    `stop_timeout_s`, and re-raises.
    """
    process = subprocess.Popen(list(command), env=dict(env), start_new_session=True)
    try:
        return process.wait()
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=stop_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise


def redact(url: str) -> str:
    """Returns `url` with its password, if any, replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hosts}"))


def _fresh_dir(path: Path) -> Path:
    """Returns `path` as a new empty directory, removing what an earlier run left there."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path.absolute()


def _start(stack: ExitStack, server: _Server) -> _Server:
    _say(f"starting {server.name} ({server.binary}) on port {server.port}, data {server.data_dir}")
    stack.enter_context(server)
    _say(f"{server.name} is up (pid {server.pid}); log {server.log_path}")
    return server


def _using(what: str, url: str) -> str:
    _say(f"{what}: using {redact(url)} from the environment")
    return url


def _is_set(env: Mapping[str, str], *names: str) -> bool:
    return any(env.get(name, "").strip() for name in names)


def _say(message: str) -> None:
    print(f"devstack: {message}", file=sys.stderr, flush=True)
