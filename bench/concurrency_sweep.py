"""Throughput and latency against concurrency (16, 64, 256 clients) with a 1 s provider.

Runs scenario (a)'s measurement (bench.concurrent_turns: staggered arrivals, a fixed window)
once per level against the same app, and compares each with its ceiling, clients ÷ provider
latency turns/s. The app is one uvicorn worker; the machine's cores are shared by the app,
secantusd-py, Redis, the fake provider and the load generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench import concurrent_turns

LEVELS = (16, 64, 256)


def run(
    url: str,
    *,
    levels: Sequence[int] = LEVELS,
    duration_s: float,
    llm_latency_s: float,
    pids: dict[str, int],
) -> dict[str, Any]:
    """Runs every level in turn; returns one row per level and the settings."""
    rows = []
    for clients in levels:
        print(f"  {clients} clients for {duration_s:g} s ...", flush=True)
        result = concurrent_turns.run(
            url,
            clients=clients,
            duration_s=duration_s,
            llm_latency_s=llm_latency_s,
            stagger=True,
            pids=pids,
        )
        rows.append(result)
    return {
        "llm_latency_s": llm_latency_s,
        "duration_s_per_level": duration_s,
        "levels": [
            {
                "clients": r["clients"],
                "turns_per_s": r["turns_per_s"],
                "ceiling_turns_per_s": r["ceiling_turns_per_s"],
                "ratio_to_ceiling": r["ratio_to_ceiling"],
                "p50_ms": r["latency"].get("p50_ms"),
                "p99_ms": r["latency"].get("p99_ms"),
                "errors": r["errors"],
                "app_cores": r["cpu"].get("app", {}).get("cores"),
                "secantusd_cores": r["cpu"].get("secantusd", {}).get("cores"),
            }
            for r in rows
        ],
        "details": rows,
    }
