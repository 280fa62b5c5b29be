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

from chat_service.config import Settings
from chat_service.launcher import MULTIPROCESS_DIR_VARIABLE, prepare_multiprocess_dir, uvicorn_argv
from devstack.cluster import RedisCluster
from devstack.envfile import read_env_file
from devstack.process import ServerProcess
from devstack.servers import MongoServer, RedisServer
from devstack.shutdown import Stopped, stop_on_signals
from devstack.stack_record import (
    RUN,
    SERVERS,
    STACK_DIR,
    live_record,
    new_record,
    recorded,
    redact,
    with_stack_defaults,
)

CHILD_STOP_TIMEOUT_S = 20.0
CHILD_STOP_MARGIN_S = 10.0
_MONGO = ("MONGO_URI", "MONGODB_URI")
# `make run REDIS_CLUSTER=1`: the Redis it starts is a local Redis Cluster, not one server.
CLUSTER_VARIABLE = "REDIS_CLUSTER"

_Server = TypeVar("_Server", bound=ServerProcess)


def run(*, root: Path, environ: Mapping[str, str]) -> int:
    """Runs the app under uvicorn until it exits or SIGINT/SIGTERM stops it.

    `root/.env` supplies variables missing from `environ`. Redis is REDIS_URL or REDIS_ADDR,
    else the one a running `make servers` recorded under `root/var/stack/`, else one it starts;
    MongoDB likewise (MONGO_URI or MONGODB_URI), with secantusd-py. With REDIS_CLUSTER=1 the
    Redis it starts is a six-node Redis Cluster (`root/var/redis-cluster`, fresh at each start).
    Started servers keep their data under `root/var`. Applies migrations first; records the stack's addresses and the app's
    URL in `root/var/stack/<pid>.json` (for the CLIs) while it runs; stops all it started.
    With WORKERS > 1 the workers share a fresh PROMETHEUS_MULTIPROC_DIR
    (`root/var/prometheus-multiproc`, emptied at each start) unless one is set. A stop gives
    uvicorn SHUTDOWN_GRACE_S seconds, plus a margin, before it is killed. Returns uvicorn's (or the failed migration's) exit status, 0 after a signal. Raises
    SettingsError for unusable settings and ServerStartError if a server does not start.
    """
    stack_dir = root / STACK_DIR
    configured = {**read_env_file(root / ".env"), **environ}
    servers_record = live_record(directory=stack_dir, kinds=(SERVERS,))
    env = with_stack_defaults(configured, servers_record)
    settings = Settings.from_env(env)
    source = {
        what: "the environment"
        if servers_record is None or _is_set(configured, *names)
        else f"make servers (pid {servers_record.pid})"
        for what, names in (("Redis", ("REDIS_URL", "REDIS_ADDR")), ("MongoDB", _MONGO))
    }
    data_dir = root / "var"
    with stop_on_signals():
        try:
            with ExitStack() as stack:
                if _is_set(env, "REDIS_URL", "REDIS_ADDR"):
                    redis_url = _using("Redis", settings.redis_url, source["Redis"])
                elif _is_true(env.get(CLUSTER_VARIABLE, "")):
                    redis_url = _start_cluster(stack, RedisCluster(data_dir / "redis-cluster")).url
                else:
                    redis_url = _start(stack, RedisServer(data_dir / "redis")).url
                if _is_set(env, *_MONGO):
                    mongo_uri = _using("MongoDB", settings.mongo_uri, source["MongoDB"])
                else:
                    mongo_uri = _start(stack, MongoServer(data_dir / "mongo")).uri
                child_env = {
                    **env,
                    "REDIS_URL": redis_url,
                    "MONGO_URI": mongo_uri,
                    "MONGO_DATABASE": settings.mongo_database,
                }
                record = new_record(
                    RUN,
                    redis_url=redis_url,
                    mongo_uri=mongo_uri,
                    mongo_database=settings.mongo_database,
                    app_url=app_url(settings),
                )
                _say(
                    f"addresses recorded in {stack.enter_context(recorded(record, directory=stack_dir))}"
                )
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


def servers(*, data_dir: Path, redis_cluster: bool = False) -> int:
    """Starts Redis and secantusd-py with data under `data_dir`, prints `export` lines for
    REDIS_URL and MONGO_URI on stdout, records them in `data_dir/stack/<pid>.json` (where
    `make run` and the CLIs look), and keeps them up. With `redis_cluster`, Redis is a local
    six-node Redis Cluster (three masters, three replicas; `data_dir/redis-cluster`, formed
    afresh at each start) and REDIS_URL its `redis+cluster://` URL.

    Returns 0 once SIGINT or SIGTERM stopped them, 1 if one of them exited by itself.
    """
    with stop_on_signals():
        try:
            with ExitStack() as stack:
                redis: RedisServer | RedisCluster
                if redis_cluster:
                    redis = _start_cluster(stack, RedisCluster(data_dir / "redis-cluster"))
                else:
                    redis = _start(stack, RedisServer(data_dir / "redis"))
                mongo = _start(stack, MongoServer(data_dir / "mongo"))
                record = new_record(SERVERS, redis_url=redis.url, mongo_uri=mongo.uri)
                path = stack.enter_context(recorded(record, directory=data_dir / STACK_DIR.name))
                print(f"export REDIS_URL={redis.url}", f"export MONGO_URI={mongo.uri}", sep="\n")
                sys.stdout.flush()
                _say(
                    f"servers are up, recorded in {path} for make run and the CLIs; Ctrl-C stops them"
                )
                while redis.running and mongo.running:
                    time.sleep(0.5)
                if not redis.running:
                    _say(f"Redis exited by itself; see the logs under {redis.data_dir}")
                if not mongo.running:
                    _say(f"{mongo.name} exited by itself; see {mongo.log_path}")
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


def app_url(settings: Settings) -> str:
    """Returns the URL a local client reaches the app at (loopback when it listens on all)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(settings.host)
    if host is None:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}"


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


def _start_cluster(stack: ExitStack, cluster: RedisCluster) -> RedisCluster:
    via = f"redis-cli ({cluster.cli})" if cluster.cli else "CLUSTER MEET/ADDSLOTS/REPLICATE"
    _say(
        f"starting a Redis Cluster of {len(cluster.nodes)} nodes ({cluster.binary}), formed with "
        f"{via}, data {cluster.data_dir}"
    )
    stack.enter_context(cluster)
    _say(f"the Redis Cluster is up (cluster_state:ok): {cluster.url}")
    return cluster


def _is_true(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _using(what: str, url: str, source: str) -> str:
    _say(f"{what}: using {redact(url)} from {source}")
    return url


def _is_set(env: Mapping[str, str], *names: str) -> bool:
    return any(env.get(name, "").strip() for name in names)


def _say(message: str) -> None:
    print(f"devstack: {message}", file=sys.stderr, flush=True)
