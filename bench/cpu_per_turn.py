"""Server CPU per turn with an instant provider, next to a bare uvicorn app in the same run.

One client sends ContinueConversation turns one at a time (rotating over a few conversations)
and the app process's CPU is read from /proc before and after. A bare ASGI app
(bench.bare_app) under uvicorn answers the same request bodies (each five times) with a
reply of the same size. The two alternate in rounds, so load from elsewhere on the machine
hits both alike, and the median round's ratio is reported: how
much work the service adds over the floor of "parse a JSON request, send a JSON reply".
"""

from __future__ import annotations

import os
import sys
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
ROUNDS = 5


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
    url: str,
    *,
    turns: int,
    app_pid: int,
    other_pids: dict[str, int],
    log_dir: Path,
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """Measures `turns` turns on the app at `url` and BARE_REPEATS times as many requests on
    a bare app, in `rounds` alternating rounds (so a neighbour's load hits both alike); the
    figures are the median round's ratio and the totals."""
    per_round = max(1, turns // rounds)
    argv_base = [
        *(sys.executable, "-m", "uvicorn", "--factory"),
        *("--no-access-log", "--no-proxy-headers", "--log-level", "warning"),
    ]
    with httpx2.Client(base_url=url, timeout=60.0) as http:
        bodies = _bodies(http, per_round * rounds + WARMUP)
        reply_bytes = _drive(http, ROUTE + "ContinueConversation", bodies[:WARMUP])
        bare, bare_url = _bare(argv_base, reply_bytes, log_dir)
        meters: list[tuple[CpuMeter, CpuMeter, float]] = []
        try:
            with httpx2.Client(base_url=bare_url, timeout=60.0) as bare_http:
                _drive(bare_http, "/", bodies[:WARMUP])
                for n in range(rounds):
                    chunk = bodies[WARMUP + n * per_round : WARMUP + (n + 1) * per_round]
                    meter = CpuMeter({"app": app_pid, **other_pids})
                    meter.start()
                    reply_bytes = _drive(http, ROUTE + "ContinueConversation", chunk)
                    meter.stop()
                    bare_meter = CpuMeter({"bare_app": bare.pid})
                    bare_meter.start()
                    _drive(bare_http, "/", chunk * BARE_REPEATS)
                    bare_meter.stop()
                    meters.append((meter, bare_meter, meter.wall_s))
        finally:
            bare.stop()
    measured = per_round * rounds
    rows = [
        {
            "app_cpu_ms_per_turn": round(1000 * m.cpu_s["app"] / per_round, 3),
            "bare_cpu_ms_per_request": round(
                1000 * b.cpu_s["bare_app"] / (per_round * BARE_REPEATS), 4
            ),
        }
        for m, b, _ in meters
    ]
    for row in rows:
        bare_ms = row["bare_cpu_ms_per_request"]
        row["ratio"] = round(row["app_cpu_ms_per_turn"] / bare_ms, 1) if bare_ms else float("nan")
    median = sorted(rows, key=lambda r: r["ratio"])[len(rows) // 2]
    app_s = sum(m.cpu_s["app"] for m, _, _ in meters)
    bare_s = sum(b.cpu_s["bare_app"] for _, b, _ in meters)
    total = CpuMeter({})
    total.cpu_s = {name: sum(m.cpu_s[name] for m, _, _ in meters) for name in ("app", *other_pids)}
    total.wall_s = sum(wall for _, _, wall in meters)
    return {
        "llm_latency_s": 0.0,
        "turns": measured,
        "rounds": rounds,
        "client": "one connection, one turn at a time",
        "request_bytes": len(httpx2.Request("POST", "/", json=bodies[-1]).content),
        "reply_bytes": reply_bytes,
        "app_cpu_ms_per_turn": median["app_cpu_ms_per_turn"],
        "bare_uvicorn_cpu_ms_per_request": median["bare_cpu_ms_per_request"],
        "ratio_app_to_bare": median["ratio"],
        "figures": "the round with the median ratio; every round in `by_round`",
        "by_round": rows,
        "totals": {
            "app_cpu_ms_per_turn": round(1000 * app_s / measured, 3),
            "bare_cpu_ms_per_request": round(1000 * bare_s / (measured * BARE_REPEATS), 4),
        },
        "app_turns_per_s_sequential": round(measured / total.wall_s, 1) if total.wall_s else 0.0,
        "cpu_by_process": total.summary(measured),
        "bare_requests": measured * BARE_REPEATS,
    }
