"""Session fixtures that start real Redis and Mongo-protocol servers on loopback, lazily, and
the fake clock every test shares."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pymongo.errors
import pytest

from devstack.cluster import RedisCluster
from devstack.servers import MongoServer, RedisServer
from tests.fakes.clock import FakeClock
from tests.log_audit import LogAudit
from tests.stack_environ import without_stack_settings

_TIERS = {
    "integration": pytest.mark.integration,
    "e2e": pytest.mark.e2e,
    "faults": pytest.mark.faults,
    "fuzz": pytest.mark.fuzz,
}
_AUDIT = pytest.StashKey[LogAudit]()


def pytest_configure(config: pytest.Config) -> None:
    """Sends every log record of the run, at INFO and above, through the log audit."""
    audit = LogAudit()
    config.stash[_AUDIT] = audit
    root = logging.getLogger()
    root.addHandler(audit)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fails the run if any watched secret (tests/canaries.py, generated keys) was logged."""
    audit = session.config.stash.get(_AUDIT, None)
    if audit is None:
        return
    logging.getLogger().removeHandler(audit)
    leaks = audit.leaks()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.write_sep("=", "log audit: secrets found in the logs", red=True)
            for leak in leaks:
                reporter.write_line(leak)
    elif reporter is not None:
        reporter.write_line(f"log audit: {audit.line_count} log lines, no secret in them")


@pytest.fixture(scope="session")
def log_audit(pytestconfig: pytest.Config) -> LogAudit:
    """The run's log audit; `log_audit.watch(label, secret)` adds a secret to look for."""
    return pytestconfig.stash[_AUDIT]


@pytest.fixture
def clock() -> FakeClock:
    """A FakeClock that stands at 2026-01-01 UTC until the test calls `clock.advance()`."""
    return FakeClock()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks tests under tests/integration, e2e, faults and fuzz with their tier's marker."""
    for item in items:
        for part in Path(str(item.path)).parts:
            if part in _TIERS:
                item.add_marker(_TIERS[part])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis server started for this session (skips the test if TEST_REDIS_URL is set)."""
    if os.environ.get("TEST_REDIS_URL"):
        pytest.skip("TEST_REDIS_URL is set: no Redis server is started by the tests")
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """TEST_REDIS_URL if set, else the URL of the session's Redis server."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        return url
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A Redis Cluster started for this session: six nodes on loopback, three masters with a
    replica each, in cluster_state:ok (skips the test if TEST_REDIS_CLUSTER_URL is set)."""
    if os.environ.get("TEST_REDIS_CLUSTER_URL"):
        pytest.skip("TEST_REDIS_CLUSTER_URL is set: no Redis Cluster is started by the tests")
    with RedisCluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_cluster_url(request: pytest.FixtureRequest) -> str:
    """TEST_REDIS_CLUSTER_URL if set, else the `redis+cluster://` URL of the session's
    cluster (every node a seed): the REDIS_URL of an app on a Redis Cluster."""
    url = os.environ.get("TEST_REDIS_CLUSTER_URL")
    if url:
        return url
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    return cluster.url


@pytest.fixture(
    scope="session", params=["server", pytest.param("cluster", marks=pytest.mark.cluster)]
)
def any_redis_url(request: pytest.FixtureRequest) -> str:
    """The URL of the session's single Redis server, then of its Redis Cluster: a test taking
    it runs on both (`-m cluster` selects the cluster runs)."""
    name = "redis_url" if request.param == "server" else "redis_cluster_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    """A secantusd-py server started for this session (skips the test if TEST_MONGO_URI is set)."""
    if os.environ.get("TEST_MONGO_URI"):
        pytest.skip("TEST_MONGO_URI is set: no Mongo server is started by the tests")
    server = MongoServer(tmp_path_factory.mktemp("mongo"))
    server.start()
    try:
        yield server
    finally:
        server.kill()  # its data is thrown away: a clean shutdown would only cost seconds


@pytest.fixture(scope="session")
def mongo_uri(request: pytest.FixtureRequest) -> str:
    """TEST_MONGO_URI if set, else the URI of the session's Mongo server."""
    uri = os.environ.get("TEST_MONGO_URI")
    if uri:
        return uri
    server: MongoServer = request.getfixturevalue("mongo_server")
    return server.uri


@pytest.fixture
def mongo_database_name(mongo_uri: str) -> Iterator[str]:
    """A database name unique to the test; the database is dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    try:
        client: pymongo.MongoClient[dict[str, object]]
        # Clean-up must not hang a test: a large database's drop on a busy development
        # server can outlast the test timeout (the server finishes it on its own).
        with pymongo.MongoClient(
            mongo_uri, serverSelectionTimeoutMS=5000, socketTimeoutMS=30_000
        ) as client:
            client.drop_database(name)
    except pymongo.errors.PyMongoError:
        pass


@pytest.fixture
def dev_servers(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`make servers` as a developer runs it, from `tmp_path` as the repository root; yields
    the process and the variables of its export lines. Stopped (SIGINT) afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "servers"],
        cwd=tmp_path,
        env=without_stack_settings(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        exports = {}
        for _ in range(2):
            name, _, value = (
                process.stdout.readline().removeprefix("export ").strip().partition("=")
            )
            exports[name] = value
        assert set(exports) == {"REDIS_URL", "MONGO_URI"}, exports
        yield process, exports
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
        if process.stdout is not None:
            process.stdout.close()
