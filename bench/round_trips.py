"""MongoDB and Redis round trips of one turn, by operation, with the bytes each way.

The app runs with chat_service.observability.round_trips installed (the bench sets
CHAT_SERVICE_COUNT_ROUND_TRIPS; nothing counts otherwise) and the default rate limit on, so
the limiter's calls are counted too. One client, an instant provider: after a few warm-up
turns, each measured StartConversation and ContinueConversation is bracketed by two
snapshots of the app's counters (SIGUSR1 makes it write them) and the difference is that
turn's. Every turn of a kind costs the same here; the figures are the median turn's and the
JSON keeps the spread.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2

from bench.rpc import ROUTE

COUNTERS_FILE = "round-trips.json"
BEFORE_FILE = "round_trips_before.json"
WARMUP = 3
SAMPLES = 7
PAUSE_S = 0.12  # keeps one client under the default 20 requests/s limit


class _Counters:
    def __init__(self, pid: int, path: Path) -> None:
        self._pid = pid
        self._path = path
        self._seq = 0

    def snapshot(self, timeout_s: float = 10.0) -> dict[str, Any]:
        os.kill(self._pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                data: dict[str, Any] = json.loads(self._path.read_text())
            except (OSError, ValueError):
                data = {"seq": -1}
            if data["seq"] > self._seq:
                self._seq = data["seq"]
                return data
            time.sleep(0.005)
        raise RuntimeError(f"the app wrote no round-trip counters to {self._path}")


def _difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for store in ("mongo", "redis"):
        b, a = before[store], after[store]
        operations = Counter(a["by_operation"])
        operations.subtract(b["by_operation"])
        out[store] = {
            "round_trips": a["round_trips"] - b["round_trips"],
            "by_operation": dict(sorted((k, v) for k, v in operations.items() if v)),
            "bytes_sent": a["bytes_sent"] - b["bytes_sent"],
            "bytes_received": a["bytes_received"] - b["bytes_received"],
        }
    return out


def _median_turn(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample whose total round trips is the median; with the spread of each store."""
    ranked = sorted(samples, key=lambda s: s["mongo"]["round_trips"] + s["redis"]["round_trips"])
    chosen = ranked[len(ranked) // 2]
    for store in ("mongo", "redis"):
        trips = [s[store]["round_trips"] for s in samples]
        chosen[store]["round_trips_min_max"] = [min(trips), max(trips)]
        chosen[store]["bytes_sent_median"] = statistics.median(
            s[store]["bytes_sent"] for s in samples
        )
    return chosen


def _post(http: httpx2.Client, method: str, body: dict[str, str]) -> dict[str, Any]:
    response = http.post(ROUTE + method, json=body)
    response.raise_for_status()
    time.sleep(PAUSE_S)
    reply: dict[str, Any] = response.json()
    return reply


def run(url: str, *, app_pid: int, counters_path: Path) -> dict[str, Any]:
    """Measures the app at `url` (pid `app_pid`, writing its counters to `counters_path`)."""
    counters = _Counters(app_pid, counters_path)
    run_id = uuid.uuid4().hex[:8]
    starts: list[dict[str, Any]] = []
    continues: list[dict[str, Any]] = []
    with httpx2.Client(base_url=url, timeout=60.0) as http:
        for n in range(WARMUP + SAMPLES):
            before = counters.snapshot()
            started = _post(http, "StartConversation", {"message": f"round trips {run_id} {n}"})
            middle = counters.snapshot()
            body = {"conversation_id": started["conversation_id"], "message": f"and then {n}?"}
            _post(http, "ContinueConversation", body)
            after = counters.snapshot()
            if n >= WARMUP:
                starts.append(_difference(before, middle))
                continues.append(_difference(middle, after))
    return {
        "llm_latency_s": 0.0,
        "rate_limit": "on (defaults: 20 requests/s, burst 40)",
        "samples_per_kind": SAMPLES,
        "method": (
            "pymongo command monitoring and a counting redis-py connection class in the app "
            "process; Mongo bytes are BSON sizes of command and reply, Redis bytes are socket bytes"
        ),
        "StartConversation": _median_turn(starts),
        "ContinueConversation": _median_turn(continues),
    }


def with_before(result: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Adds the figures recorded before the round trips were cut (`out_dir/BEFORE_FILE`, a
    copy of an earlier round_trips.json) and each store's ratio now / before, if recorded."""
    path = out_dir / BEFORE_FILE
    if not path.exists():
        return result
    before = json.loads(path.read_text())["result"]
    result["before"] = {
        "recorded_at": json.loads(path.read_text()).get("generated_at"),
        "StartConversation": before["StartConversation"],
        "ContinueConversation": before["ContinueConversation"],
    }
    result["ratio_to_before"] = {
        method: {
            store: round(result[method][store]["round_trips"] / then[store]["round_trips"], 3)
            for store in ("mongo", "redis")
            if then[store]["round_trips"]
        }
        for method, then in ((m, before[m]) for m in ("StartConversation", "ContinueConversation"))
    }
    return result
