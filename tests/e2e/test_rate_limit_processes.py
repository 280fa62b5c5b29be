"""Three app processes sharing one Redis enforce one combined limit per client address.

Half the requests carry a made-up X-Forwarded-For: the peer (loopback) is not a trusted
proxy, so the header must change nothing.
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from devstack.process import free_port

ROOT = Path(__file__).resolve().parents[2]
RPS, BURST, DURATION_S = 20.0, 10, 2.5


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"app at {url} did not start:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def three_apps(redis_url, mongo_uri, app_settings, tmp_path_factory):
    logs = tmp_path_factory.mktemp("apps")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "MONGO_URI": mongo_uri,
        "MONGO_DATABASE": app_settings.mongo_database,  # migrated by the e2e fixtures
        "API_RATE_LIMIT_RPS": str(RPS),
        "API_RATE_LIMIT_BURST": str(BURST),
        "TRUSTED_PROXIES": "",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    processes, urls = [], []
    try:
        for number in range(3):
            port = free_port()
            log = logs / f"app-{number}.log"
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [
                            *(sys.executable, "-m", "uvicorn", "--factory"),
                            "chat_service.composition.app:create_app",
                            *("--host", "127.0.0.1", "--port", str(port)),
                            *("--no-access-log", "--no-proxy-headers", "--log-level", "warning"),
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            urls.append((f"http://127.0.0.1:{port}", processes[-1], log))
        for url, process, log in urls:
            _wait_until_healthy(url, process, log)
        yield [url for url, _, _ in urls]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_three_processes_enforce_one_combined_limit_and_ignore_spoofed_headers(three_apps):
    route = "/twirp/acai.chat.ChatService/ListConversations"
    admitted_by_app = [0, 0, 0]
    counts = {"limited": 0, "other": 0}
    lock = threading.Lock()
    turn = itertools.count()
    began = time.monotonic()
    stop_at = began + DURATION_S

    def client() -> None:
        rng = random.Random()
        with requests.Session() as http:
            while time.monotonic() < stop_at:
                number = next(turn)
                app = number % 3
                headers = {"Content-Type": "application/json"}
                if number % 2:
                    headers["X-Forwarded-For"] = f"203.0.113.{rng.randrange(256)}"
                response = http.post(
                    three_apps[app] + route, data=b"{}", headers=headers, timeout=10
                )
                with lock:
                    if response.status_code == 200:
                        admitted_by_app[app] += 1
                    elif response.status_code == 429:
                        counts["limited"] += 1
                        assert response.json()["code"] == "resource_exhausted"
                        assert int(response.headers["Retry-After"]) >= 1
                    else:
                        counts["other"] += 1
                time.sleep(0.005)

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed_s = time.monotonic() - began

    admitted = sum(admitted_by_app)
    expected = BURST + RPS * elapsed_s
    assert counts["other"] == 0
    assert counts["limited"] > admitted  # the clients asked for far more than the limit
    assert all(n > 0 for n in admitted_by_app)  # every process admitted its share
    assert abs(admitted - expected) <= max(2.0, 0.04 * expected), (
        admitted,
        expected,
        counts,
        admitted_by_app,
    )
