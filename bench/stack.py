"""The stack a benchmark runs against, all on loopback and all stopped on exit.

Shared by the scenarios: Redis and secantusd-py (devstack.servers) in a temp dir and a fresh
migrated database. Per scenario: a fake OpenAI server process with a fixed latency and the app
as its own process under one uvicorn worker, pointed at that fake server.

The app starts as `make run` starts it (the "shipped" profile): `python -m
chat_service.launcher`, i.e. uvicorn with the header-limiting HTTP protocol, the JSON log
configuration at the default LOG_LEVEL (INFO, one access line a request), in-memory metrics
for one worker and the default tracing. The only setting changed is API_RATE_LIMIT_RPS=0:
every benchmark client shares one address. The "lean" profile, reported only where labelled,
starts uvicorn directly without the access log, logging at WARNING.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymongo

from bench.processes import ROOT, Child, ChildError, http_ok
from devstack.process import LOOPBACK, free_port
from devstack.servers import MongoServer, RedisServer

APP_FACTORY = "chat_service.composition.app:create_app"
SHIPPED = "shipped"
LEAN = "lean"
PROFILES = (SHIPPED, LEAN)


@dataclass(frozen=True)
class App:
    """A running app: its base URL, pids for CPU accounting and how it was started."""

    profile: str
    url: str
    pid: int
    fake_openai_pid: int
    fake_openai_url: str
    argv: list[str]
    env: dict[str, str]
    fake_openai_argv: list[str]


class Stack:
    """Owns every process; use as a context manager (`with Stack() as stack:`)."""

    def __init__(self, *, profile: str = SHIPPED) -> None:
        """`profile` is how every app of the run starts (SHIPPED unless told: see app())."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}: one of {', '.join(PROFILES)}")
        self.profile = profile
        self.fake_module = "tests.fakes.openai_server"
        self._exit = contextlib.ExitStack()
        self.dir = Path(".")
        self.redis: RedisServer | None = None
        self.mongo: MongoServer | None = None
        self.database = f"bench_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> Stack:
        try:
            self.dir = Path(self._exit.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            self.redis = self._exit.enter_context(RedisServer(self.dir / "redis"))
            self.mongo = self._exit.enter_context(MongoServer(self.dir / "mongo"))
            self._migrate()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    @property
    def mongo_uri(self) -> str:
        assert self.mongo is not None
        return self.mongo.uri

    def _migrate(self) -> None:
        env = {**os.environ, "MONGO_URI": self.mongo_uri, "MONGO_DATABASE": self.database}
        done = subprocess.run(
            [sys.executable, "-m", "migrations", "up"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ChildError(f"migrations failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    @contextlib.contextmanager
    def app(
        self,
        *,
        llm_latency_s: float,
        name: str,
        first_token_delay_s: float = 0.0,
        token_gap_s: float = 0.0,
        reply_words: int = 0,
        settings: dict[str, str] | None = None,
        profile: str | None = None,
        root: Path | None = None,
    ) -> Iterator[App]:
        """Runs a fake OpenAI server with `llm_latency_s` and the app pointed at it, started
        as `profile` says (default: the run's; SHIPPED: the launcher `make run` uses; LEAN:
        bare uvicorn), from the checkout at `root` (default: this one; bench.ab_cpu runs an
        earlier one next to it).

        Streamed answers (`first_token_delay_s`, `token_gap_s`) and `reply_words` words
        instead of the echo configure the fake as its command-line options do; `settings`
        are more environment variables of the app.
        """
        assert self.redis is not None
        with contextlib.ExitStack() as stack:
            fake_port = free_port()
            fake = Child(
                f"fake-openai-{name}",
                [
                    *(sys.executable, "-m", self.fake_module),
                    *("--host", LOOPBACK, "--port", str(fake_port)),
                    *("--latency-s", f"{llm_latency_s:g}"),
                    *("--first-token-delay-s", f"{first_token_delay_s:g}"),
                    *("--token-gap-s", f"{token_gap_s:g}"),
                    *("--reply-words", str(reply_words)),
                ],
                log_path=self.dir / f"fake-openai-{name}.log",
            )
            stack.callback(fake.stop)
            fake.start(http_ok(f"http://{LOOPBACK}:{fake_port}/v1/models"))
            port = free_port()
            env = {
                "REDIS_URL": self.redis.url,
                "MONGO_URI": self.mongo_uri,
                "MONGO_DATABASE": self.database,
                "OPENAI_API_KEY": "sk-bench",
                "OPENAI_BASE_URL": f"http://{LOOPBACK}:{fake_port}/v1",
                "OPENAI_MODEL": "bench-model",
                "HOST": LOOPBACK,
                "PORT": str(port),
                # Every benchmark client shares one address: measure the app, not the limit.
                "API_RATE_LIMIT_RPS": "0",
                **(settings or {}),
            }
            profile = profile or self.profile
            argv = app_argv(profile, {**os.environ, **env})
            app_env = {**os.environ, **env}
            if root is not None:
                app_env["PYTHONPATH"] = str(root)
            app = Child(
                f"app-{name}",
                argv,
                log_path=self.dir / f"app-{name}.log",
                env=app_env,
                cwd=root or ROOT,
            )
            stack.callback(app.stop)
            url = f"http://{LOOPBACK}:{port}"
            app.start(http_ok(f"{url}/ready"), timeout_s=60)
            shown_env = {k: ("***" if k == "OPENAI_API_KEY" else v) for k, v in env.items()}
            fake_url = f"http://{LOOPBACK}:{fake_port}"
            yield App(profile, url, app.pid, fake.pid, fake_url, argv, shown_env, fake.argv)

    def server_pids(self) -> dict[str, int]:
        """The pids of the shared servers, by name, for CPU accounting."""
        assert self.mongo is not None
        assert self.redis is not None
        assert self.mongo.pid is not None
        assert self.redis.pid is not None
        return {"secantusd": self.mongo.pid, "redis": self.redis.pid}

    def database_info(self) -> dict[str, Any]:
        """What the numbers ran against: the Mongo-protocol server, its version and pid."""
        assert self.mongo is not None
        with pymongo.MongoClient(self.mongo_uri, directConnection=True) as client:
            build = client.admin.command("buildInfo")
        return {
            "server": "secantusd-py",
            "package": "SecantusDB " + importlib.metadata.version("SecantusDB"),
            "reported_mongodb_version": build.get("version"),
            "uri": self.mongo_uri,
            "database": self.database,
        }


def app_argv(profile: str, environ: dict[str, str]) -> list[str]:
    """The app's command line: the launcher for SHIPPED (it execs uvicorn as
    `chat_service.launcher.uvicorn_argv` says: the pid stays the same), bare uvicorn for LEAN."""
    if profile == SHIPPED:
        return [sys.executable, "-m", "chat_service.launcher"]
    if profile == LEAN:
        return [
            *(sys.executable, "-m", "uvicorn", "--factory", APP_FACTORY),
            *("--host", environ["HOST"], "--port", environ["PORT"]),
            *("--no-access-log", "--no-proxy-headers", "--log-level", "warning"),
        ]
    raise ValueError(f"unknown profile {profile!r}: one of {', '.join(PROFILES)}")
