"""The run's context (machine, versions) and its output: a short table and a JSON file."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.processes import ROOT

RESULTS_PATH = ROOT / "docs" / "benchmarks" / "foundation.json"


def machine() -> dict[str, Any]:
    """nproc, CPU model, load, Python and the packages on the hot path."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in ("uvicorn", "uvloop", "httptools", "starlette", "openai", "pymongo", "httpx2"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
    }


def write_json(results: dict[str, Any], path: Path = RESULTS_PATH) -> Path:
    """Writes `results` (with a timestamp) to `path`; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), **results}
    path.write_text(json.dumps(stamped, indent=2, sort_keys=False) + "\n")
    return path


def table(results: dict[str, Any]) -> str:
    """Returns the headline figures as a small text table."""
    rows: list[tuple[str, str, str]] = []
    a = results.get("scenarios", {}).get("a")
    if a:
        lat = a["latency"]
        rows += [
            (
                f"(a) {a['clients']} clients, LLM {a['llm_latency_s']:g} s, {a['duration_s']:g} s",
                f"{a['turns_per_s']:.1f} turns/s = {a['ratio_to_ceiling']:.1%} of "
                f"{a['ceiling_turns_per_s']:g}",
                "ok" if a["meets_target"] else "MISSED (target >= 90%)",
            ),
            (
                "    latency p50 / p99 / errors",
                f"{lat.get('p50_ms', 0):.0f} / {lat.get('p99_ms', 0):.0f} ms / {a['errors']}",
                "",
            ),
        ]
    b = results.get("scenarios", {}).get("b")
    if b:
        for length in ("10", "100", "1000"):
            s = b[f"length_{length}"]
            note = " (diagnostic)" if length == "100" else ""
            rows.append(
                (
                    f"(b) instant LLM, {length} messages{note}",
                    f"p50 {s.get('p50_ms', 0):.1f} ms, mean {s.get('mean_ms', 0):.1f} ms",
                    f"n={s.get('count', 0)}",
                )
            )
        rows.append(
            (
                "    ratio 1000/10 (p50, mean)",
                f"{b['ratio_1000_to_10_p50']:.2f}, {b['ratio_1000_to_10_mean']:.2f}",
                "ok" if b["meets_target"] else "MISSED (target <= 1.2)",
            )
        )
        rows.append(
            (
                "    ratio 1000/100 (p50, mean)",
                f"{b['ratio_1000_to_100_p50']:.2f}, {b['ratio_1000_to_100_mean']:.2f}",
                "",
            )
        )
    width = max((len(r[0]) for r in rows), default=0)
    middle = max((len(r[1]) for r in rows), default=0)
    return "\n".join(f"{r[0]:<{width}}  {r[1]:<{middle}}  {r[2]}".rstrip() for r in rows)
