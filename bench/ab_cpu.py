"""App CPU per turn of this checkout against another one, side by side in one run.

`python -m bench.ab_cpu --baseline PATH` starts the shared stack once and two apps on it, both
as `make run` starts them: one from PATH (another checkout of the project, e.g. a `git
worktree` of an earlier commit) and one from this checkout. One client then alternates:
ROUND_TURNS ContinueConversation turns on one, the same on the other, for `--rounds` rounds,
reading each app's CPU from /proc around its own rounds. On a machine shared with other work
a neighbour's load changes CPU per turn by tens of percent from one minute to the next;
alternating short rounds (ABBA order) lets it hit both apps alike, and the figure is the
ratio of their total CPU over all rounds, this / baseline (the JSON keeps every round). Prints one line per round and writes the JSON to `--output`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx2

from bench.cpu_per_turn import WARMUP, _bodies, _drive
from bench.processes import ChildError, CpuMeter
from bench.report import machine
from bench.rpc import ROUTE
from bench.stack import Stack

ROUND_TURNS = 100
SETTLE_S = 0.5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ab_cpu", description=__doc__)
    parser.add_argument("--baseline", required=True, type=Path, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per app (%(default)s)")
    parser.add_argument("--output", type=Path, help="JSON path (default: print only)")
    return parser


def run(baseline: Path, *, rounds: int) -> dict[str, Any]:
    """Measures both apps; returns every round and the medians."""
    per_app: dict[str, list[float]] = {"baseline": [], "this": []}
    with (
        Stack() as stack,
        stack.app(llm_latency_s=0.0, name="baseline", root=baseline) as before,
        stack.app(llm_latency_s=0.0, name="this") as after,
    ):
        apps = {"baseline": before, "this": after}
        clients = {n: httpx2.Client(base_url=a.url, timeout=60.0) for n, a in apps.items()}
        try:
            bodies = {n: _bodies(c, WARMUP + ROUND_TURNS * rounds) for n, c in clients.items()}
            for n, client in clients.items():
                _drive(client, ROUTE + "ContinueConversation", bodies[n][:WARMUP])
            for r in range(rounds):
                order = ("baseline", "this") if r % 2 == 0 else ("this", "baseline")
                for n in order:
                    start = WARMUP + r * ROUND_TURNS
                    meter = CpuMeter({"app": apps[n].pid})
                    meter.start()
                    chunk = bodies[n][start : start + ROUND_TURNS]
                    _drive(clients[n], ROUTE + "ContinueConversation", chunk)
                    # Work an app does after its replies (logs, metrics, collection) belongs
                    # to its turns: wait for it before reading the CPU, not in the other's round.
                    time.sleep(SETTLE_S)
                    meter.stop()
                    per_app[n].append(1000 * meter.cpu_s["app"] / ROUND_TURNS)
                ratio = per_app["this"][-1] / per_app["baseline"][-1]
                print(
                    f"round {r + 1}: baseline {per_app['baseline'][-1]:.2f} ms, "
                    f"this {per_app['this'][-1]:.2f} ms, ratio {ratio:.2f}",
                    flush=True,
                )
        finally:
            for client in clients.values():
                client.close()
    ratios = [t / b for t, b in zip(per_app["this"], per_app["baseline"], strict=True)]
    return {
        "baseline": str(baseline),
        "rounds": rounds,
        "turns_per_round": ROUND_TURNS,
        "app_cpu_ms_per_turn": {n: [round(v, 3) for v in vs] for n, vs in per_app.items()},
        "median_ms": {n: round(statistics.median(vs), 3) for n, vs in per_app.items()},
        "ratio_this_to_baseline_per_round": [round(r, 3) for r in ratios],
        "median_ratio_this_to_baseline": round(statistics.median(ratios), 3),
        "ratio_this_to_baseline": round(sum(per_app["this"]) / sum(per_app["baseline"]), 3),
        "machine": machine(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = run(args.baseline.resolve(), rounds=args.rounds)
    except ChildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"median: baseline {result['median_ms']['baseline']} ms, this "
        f"{result['median_ms']['this']} ms per turn; total CPU this / baseline "
        f"{result['ratio_this_to_baseline']}"
    )
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
