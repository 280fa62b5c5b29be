"""Serving as deployed: the launcher's uvicorn with several workers, stopped by SIGTERM.

The tests start `python -m chat_service.launcher` (as the container does) or `python -m devstack
run` (as `make run` does) as their own process, over the session's Redis and Mongo servers and a
fake OpenAI server with a set latency.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pymongo
import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

import migrations
from ops import smoke
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.uvicorn_thread import free_port
from tests.stack_environ import without_stack_settings

ROOT = Path(__file__).resolve().parents[2]
START = "/twirp/acai.chat.ChatService/StartConversation"
STOP_TIMEOUT_S = 60  # generous: a hang, not slowness, is what fails these tests
BURST = 16


@contextlib.contextmanager
def launched(redis_url, mongo_uri, tmp_path, *, latency_s: float, **settings: str):
    """Yields (base URL, process, database, fake OpenAI) of a launched service."""
    database = f"serving_{uuid.uuid4().hex[:10]}"
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[database])
    port = free_port()
    with FakeOpenAIServer(latency_s=latency_s) as fake:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "REDIS_URL": redis_url,
            "MONGO_URI": mongo_uri,
            "MONGO_DATABASE": database,
            "OPENAI_API_KEY": "sk-serving-test",
            "OPENAI_BASE_URL": fake.url,
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            # Every turn must reach the fake model: no reply from the shared Redis's cache.
            "CACHE_TTL_HOURS": "0",
            **settings,
        }
        log = (tmp_path / "server.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "chat_service.launcher"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process, tmp_path / "server.log")
            yield url, process, database, fake
        finally:
            _stop_group(process)
            log.close()
            with pymongo.MongoClient(mongo_uri) as client:
                client.drop_database(database)


def _stop_group(process: subprocess.Popen) -> None:
    """Stops the launcher and every worker it spawned (its own process group)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_S)
    # The workers share the launcher's session: a killed launcher would leave them running.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"the service did not become ready:\n{log.read_text()[-3000:]}")


def _turn_in_background(url: str) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def turn() -> None:
        try:
            outcome["response"] = requests.post(url + START, json={"message": "hi"}, timeout=120)
        except requests.RequestException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=turn, daemon=True)
    thread.start()
    return thread, outcome


def _wait_until_the_model_is_called(fake: FakeOpenAIServer) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while not fake.requests:
        assert time.monotonic() < deadline, "the turn never reached the model"
        time.sleep(0.02)


def _stored(mongo_uri: str, database: str) -> tuple[int, int]:
    with pymongo.MongoClient(mongo_uri) as client:
        db = client[database]
        return db.conversations.count_documents({}), db.messages.count_documents({})


def test_a_turn_in_flight_when_stopped_finishes_and_is_stored(redis_url, mongo_uri, tmp_path):
    with launched(
        redis_url, mongo_uri, tmp_path, latency_s=1.0, WORKERS="2", SHUTDOWN_GRACE_S="30"
    ) as (url, process, database, fake):
        thread, outcome = _turn_in_background(url)
        _wait_until_the_model_is_called(fake)

        process.send_signal(signal.SIGTERM)

        thread.join(STOP_TIMEOUT_S)
        assert outcome["response"].status_code == 200, outcome
        assert outcome["response"].json()["reply"]
        assert process.wait(timeout=STOP_TIMEOUT_S) in (0, -signal.SIGTERM)
        assert _stored(mongo_uri, database) == (1, 2)


def test_a_turn_longer_than_the_grace_period_is_cut_and_leaves_nothing(
    redis_url, mongo_uri, tmp_path
):
    with launched(
        redis_url, mongo_uri, tmp_path, latency_s=300.0, WORKERS="2", SHUTDOWN_GRACE_S="1"
    ) as (url, process, database, fake):
        thread, outcome = _turn_in_background(url)
        _wait_until_the_model_is_called(fake)

        process.send_signal(signal.SIGTERM)

        # The model would answer in 300 s; the process is gone long before.
        assert process.wait(timeout=STOP_TIMEOUT_S) in (0, -signal.SIGTERM)
        thread.join(STOP_TIMEOUT_S)
        assert "error" in outcome or outcome["response"].status_code != 200
        assert _stored(mongo_uri, database) == (0, 0)


def test_two_workers_report_one_sum_of_their_counters(redis_url, mongo_uri, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")
    with launched(
        redis_url,
        mongo_uri,
        tmp_path,
        latency_s=0.0,
        WORKERS="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        LOG_LEVEL="INFO",
    ) as (url, *_):
        assert not (metrics_dir / "counter_1.db").exists()  # wiped at start
        assert requests.get(url + "/metrics", timeout=10).status_code == 200  # no keys: open
        # Bursts of concurrent new connections until both workers have answered some.
        made = 0
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            while len(_health_counts_per_worker(metrics_dir)) < 2 and made < 40 * BURST:
                answers = list(pool.map(lambda _: _get(url + "/health"), range(BURST)))
                assert answers == [200] * BURST
                made += BURST
        per_worker = _health_counts_per_worker(metrics_dir)
        assert per_worker, "no worker wrote its counters to PROMETHEUS_MULTIPROC_DIR"
        if len(per_worker) < 2:
            pytest.skip(f"all {made} requests went to one worker")

        scraped = requests.get(url + "/metrics", timeout=10)

        assert scraped.status_code == 200
        assert sum(per_worker.values()) == made
        assert _health_count(scraped.text) == made  # both workers' counts, summed

    # Every line is JSON: uvicorn's supervisor and workers and the app's access lines alike.
    lines = (tmp_path / "server.log").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    assert {"uvicorn.error", "chat_service.access"} <= {r["logger"] for r in records}
    assert any(r["message"].startswith("Started parent process") for r in records)


def _get(url: str) -> int:
    return requests.get(url, timeout=10).status_code


def _health_count(exposition: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "http_requests_total" and "/health" in sample.labels.values()
    )


def _health_counts_per_worker(metrics_dir: Path) -> dict[str, float]:
    """The /health count in each worker's own counter file, read one file at a time."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(path, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=alone)
            count = _health_count(generate_latest(registry).decode())
        if count:
            counts[path.name] = count
    return counts


def test_make_run_with_two_workers_passes_the_smoke_test(redis_url, mongo_uri, tmp_path):
    """`make run WORKERS=2` then `make smoke`, as a developer runs them (servers given)."""
    database = f"serving_{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "MONGO_URI": mongo_uri,
        "MONGO_DATABASE": database,
        "PORT": str(port),
        "WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "devstack.log"
    with FakeOpenAIServer() as fake, log.open("wb") as out:
        env |= {"OPENAI_API_KEY": "sk-serving-test", "OPENAI_BASE_URL": fake.url}
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", "--root", str(tmp_path)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process, log)
            report = io.StringIO()
            assert smoke.main(["--url", url], out=report) == 0, report.getvalue()
            assert (tmp_path / "var/prometheus-multiproc").is_dir()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=STOP_TIMEOUT_S) == 0
        finally:
            _stop_group(process)
            with pymongo.MongoClient(mongo_uri) as client:
                client.drop_database(database)
    assert "(2 workers)" in log.read_text()


def test_make_run_uses_make_servers_and_the_clis_find_it(dev_servers, tmp_path):
    """`make servers`, then `make run` and the CLIs with nothing configured, from one root."""
    servers, exports = dev_servers
    port = free_port()
    env = without_stack_settings(PORT=str(port), LOG_LEVEL="WARNING")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "CHAT_URL", "SMOKE_URL"):
        env.pop(name, None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "devstack.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(url, process, log)
            records = {
                json.loads(p.read_text())["kind"]: json.loads(p.read_text())
                for p in (tmp_path / "var/stack").glob("*.json")
            }
            assert set(records) == {"servers", "run"}
            assert records["run"]["app_url"] == url
            assert records["run"]["mongo_uri"] == exports["MONGO_URI"]
            assert f"from make servers (pid {servers.pid})" in log.read_text()

            status = subprocess.run(
                [sys.executable, "-m", "chat_cli", "status"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert status.returncode == 0, status.stderr
            assert status.stdout.startswith("healthy")
            assert smoke.default_url({}, tmp_path / ".env", stack_dir=tmp_path / "var/stack") == url

            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=STOP_TIMEOUT_S) == 0
        finally:
            _stop_group(process)
    left = [json.loads(p.read_text())["kind"] for p in (tmp_path / "var/stack").glob("*.json")]
    assert left == ["servers"]


def test_the_drain_hook_takes_every_worker_out_of_readiness(redis_url, mongo_uri, tmp_path):
    marker = tmp_path / "drain" / "draining"
    marker.parent.mkdir()
    marker.touch()  # left by an earlier run of the container: the launcher clears it
    with launched(
        redis_url, mongo_uri, tmp_path, latency_s=0, WORKERS="2", DRAIN_FILE=str(marker)
    ) as (url, _, _, _):
        assert not marker.exists()
        hook = subprocess.run(
            [sys.executable, "-m", "chat_service.drain", "0"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "DRAIN_FILE": str(marker)},
            capture_output=True,
            text=True,
            timeout=STOP_TIMEOUT_S,
        )
        assert (hook.returncode, hook.stderr) == (0, "")

        # Each probe is a new connection, taken by either worker.
        answers = [requests.get(url + "/ready", timeout=5) for _ in range(12)]
        assert {(a.status_code, a.json()["reason"]) for a in answers} == {(503, "shutting down")}
        assert requests.get(url + "/health", timeout=5).status_code == 200
        # Requests that still arrive while the endpoints update are served.
        assert requests.post(url + START, json={"message": "hi"}, timeout=30).status_code == 200
