"""Bursts: every client fires at once, in lock-step waves, at 16, 64 and 128 clients.

Runs scenario (a)'s measurement (bench.concurrent_turns) with `stagger=False` once per level
against the same app, 1 s provider: each wave's turns all reach the app in the same
instant, so the last of a wave waits for the work of the others. The figure is the latency a
turn adds to the provider's, at p50 and p99, against the number of clients.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench import concurrent_turns

LEVELS = (16, 64, 128)


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
        print(f"  {clients} clients in lock-step for {duration_s:g} s ...", flush=True)
        rows.append(
            concurrent_turns.run(
                url,
                clients=clients,
                duration_s=duration_s,
                llm_latency_s=llm_latency_s,
                stagger=False,
                pids=pids,
            )
        )
    provider_ms = 1000 * llm_latency_s
    return {
        "llm_latency_s": llm_latency_s,
        "duration_s_per_level": duration_s,
        "arrivals": "lock-step waves",
        "levels": [
            {
                "clients": r["clients"],
                "turns_per_s": r["turns_per_s"],
                "ceiling_turns_per_s": r["ceiling_turns_per_s"],
                "ratio_to_ceiling": r["ratio_to_ceiling"],
                "p50_ms": r["latency"].get("p50_ms"),
                "p99_ms": r["latency"].get("p99_ms"),
                "added_p50_ms": round(r["latency"].get("p50_ms", 0) - provider_ms, 1),
                "added_p99_ms": round(r["latency"].get("p99_ms", 0) - provider_ms, 1),
                "errors": r["errors"],
                "app_cores": r["cpu"].get("app", {}).get("cores"),
                "app_cpu_ms_per_turn": r["cpu"].get("app", {}).get("cpu_ms_per_turn"),
                "secantusd_cores": r["cpu"].get("secantusd", {}).get("cores"),
            }
            for r in rows
        ],
        "details": rows,
    }
