"""Server CPU per turn with an instant provider, next to a bare uvicorn app in the same run.

One client sends ContinueConversation turns one at a time (rotating over a few conversations)
and the app process's CPU is read from /proc before and after. Then a bare ASGI app
(bench.bare_app) under the same uvicorn command answers the same number of POSTs with the
same request bodies and a reply of the same size. The ratio of the two is the figure: how
much work the service adds over the floor of "parse a JSON request, send a JSON reply".
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2

from bench.processes import Child, CpuMeter, http_ok
from bench.rpc import ROUTE
from devstack.process import LOOPBACK, free_port

CONVERSATIONS = 8
WARMUP = 50
BARE_REPEATS = 5  # the bare app is ~50x cheaper: more requests keep /proc's 10 ms ticks small


def _bodies(http: httpx2.Client, turns: int) -> list[dict[str, str]]:
    ids = []
    run = uuid.uuid4().hex[:8]  # every turn a cache miss, whatever ran before
    for n in range(CONVERSATIONS):
        message = f"cpu bench {n} (run {run})"
        response = http.post(ROUTE + "StartConversation", json={"message": message})
        response.raise_for_status()
        ids.append(response.json()["conversation_id"])
    return [
        {"conversation_id": ids[n % CONVERSATIONS], "message": f"cpu turn {n}: go on, please"}
        for n in range(turns)
    ]


def _drive(http: httpx2.Client, path: str, bodies: list[dict[str, str]]) -> int:
    size = 0
    for body in bodies:
        response = http.post(path, json=body)
        response.raise_for_status()
        size = len(response.content)
    return size


def _bare(argv_base: list[str], reply_bytes: int, log_dir: Path) -> tuple[Child, str]:
    port = free_port()
    child = Child(
        "bare-app",
        [*argv_base, "bench.bare_app:create_app", "--host", LOOPBACK, "--port", str(port)],
        log_path=log_dir / "bare-app.log",
        env={**os.environ, "BARE_REPLY_BYTES": str(reply_bytes)},
    )
    child.start(http_ok(f"http://{LOOPBACK}:{port}/"))
    return child, f"http://{LOOPBACK}:{port}"


def run(
    url: str, *, turns: int, app_pid: int, other_pids: dict[str, int], log_dir: Path
) -> dict[str, Any]:
    """Measures `turns` turns on the app at `url`, then the same on a bare app."""
    with httpx2.Client(base_url=url, timeout=60.0) as http:
        bodies = _bodies(http, turns + WARMUP)
        _drive(http, ROUTE + "ContinueConversation", bodies[:WARMUP])
        meter = CpuMeter({"app": app_pid, **other_pids})
        meter.start()
        began = time.perf_counter()
        reply_bytes = _drive(http, ROUTE + "ContinueConversation", bodies[WARMUP:])
        app_wall = time.perf_counter() - began
        meter.stop()
    argv_base = [
        *(sys.executable, "-m", "uvicorn", "--factory"),
        *("--no-access-log", "--no-proxy-headers", "--log-level", "warning"),
    ]
    bare, bare_url = _bare(argv_base, reply_bytes, log_dir)
    try:
        with httpx2.Client(base_url=bare_url, timeout=60.0) as http:
            _drive(http, "/", bodies[:WARMUP])
            bare_meter = CpuMeter({"bare_app": bare.pid})
            bare_meter.start()
            _drive(http, "/", bodies[WARMUP:] * BARE_REPEATS)
            bare_meter.stop()
    finally:
        bare.stop()
    app_ms = 1000 * meter.cpu_s["app"] / turns
    bare_ms = 1000 * bare_meter.cpu_s["bare_app"] / (turns * BARE_REPEATS)
    return {
        "llm_latency_s": 0.0,
        "turns": turns,
        "client": "one connection, one turn at a time",
        "request_bytes": len(httpx2.Request("POST", "/", json=bodies[-1]).content),
        "reply_bytes": reply_bytes,
        "app_cpu_ms_per_turn": round(app_ms, 3),
        "bare_uvicorn_cpu_ms_per_request": round(bare_ms, 3),
        "ratio_app_to_bare": round(app_ms / bare_ms, 1) if bare_ms else float("nan"),
        "app_turns_per_s_sequential": round(turns / app_wall, 1),
        "cpu_by_process": meter.summary(turns),
        "bare_requests": turns * BARE_REPEATS,
        "bare_cpu": bare_meter.summary(turns * BARE_REPEATS),
    }
