"""Command line: set up the stack once, run the chosen scenarios, print and save the results.

Every scenario runs by default; `--only NAME` (repeatable) selects some. The foundation
scenarios (a) and (b) write docs/benchmarks/foundation.json (`--output`); the evidence
scenarios (bench.evidence) write docs/benchmarks/<name>.json and <name>.png.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from bench import concurrent_turns, evidence, history_length
from bench.processes import ChildError
from bench.report import RESULTS_PATH, machine, table, write_json
from bench.stack import PROFILES, SHIPPED, App, Stack

A_LLM_LATENCY_S = 1.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration-s", type=float, default=30.0, help="(a) window, seconds")
    parser.add_argument("--clients", type=int, default=64, help="(a) concurrent clients")
    parser.add_argument("--turns", type=int, default=200, help="(b) turns at 10 + at 1,000")
    parser.add_argument(
        "--only",
        action="append",
        choices=("a", "b", *evidence.NAMES),
        help="run this scenario (repeatable; default: all of them)",
    )
    parser.add_argument(
        "--lockstep",
        action="store_true",
        help="(a) all clients begin at once and stay in waves (default: staggered arrivals)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=SHIPPED,
        help="how the app starts: as `make run` does (shipped, the default) or as bare uvicorn"
        " without access log, logging at WARNING (lean; label its figures)",
    )
    parser.add_argument(
        "--output", default=str(RESULTS_PATH), help="(a)/(b) JSON path (default: %(default)s)"
    )
    evidence.add_arguments(parser)
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the stack's cleanup


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen = set(args.only or ("a", "b", *evidence.NAMES))
    signal.signal(signal.SIGTERM, _terminate)
    results: dict[str, Any] = {
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "scenarios": {},
    }
    began = time.perf_counter()
    written: list[Path] = []
    try:
        with Stack(profile=args.profile) as stack:
            results["database"] = stack.database_info()
            servers = stack.server_pids()
            if "a" in chosen:
                print(f"(a) {args.clients} clients for {args.duration_s:g} s ...", flush=True)
                with stack.app(llm_latency_s=A_LLM_LATENCY_S, name="a") as app:
                    results["app"] = _app_info(app)
                    pids = {"app": app.pid, "fake_openai": app.fake_openai_pid, **servers}
                    results["scenarios"]["a"] = concurrent_turns.run(
                        app.url,
                        clients=args.clients,
                        duration_s=args.duration_s,
                        llm_latency_s=A_LLM_LATENCY_S,
                        stagger=not args.lockstep,
                        pids={**pids, "bench_client": os.getpid()},
                    )
            if "b" in chosen:
                print(f"(b) {args.turns} turns at 10 vs 1,000 messages ...", flush=True)
                with stack.app(llm_latency_s=0.0, name="b") as app:
                    results.setdefault("app", _app_info(app))
                    pids = {"app": app.pid, "fake_openai": app.fake_openai_pid, **servers}
                    results["scenarios"]["b"] = history_length.run(
                        app.url,
                        mongo_uri=stack.mongo_uri,
                        database=stack.database,
                        turns=args.turns,
                        pids={**pids, "bench_client": os.getpid()},
                    )
            context = {
                "machine": results["machine"],
                "database": results["database"],
                "app_profile": args.profile,
            }
            for name in evidence.NAMES:
                if name in chosen:
                    print(f"{name} ...", flush=True)
                    written.append(evidence.run(name, stack, args, context))
    except ChildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: stopped every process", file=sys.stderr)
        return 130
    results["wall_s"] = round(time.perf_counter() - began, 1)
    if chosen & {"a", "b"}:
        written.insert(0, write_json(results, Path(args.output)))
        print(table(results))
    for path in written:
        print(f"results: {path}")
    print(f"done in {results['wall_s']:g} s")
    return 0


def _app_info(app: App) -> dict[str, Any]:
    return {
        "profile": app.profile,
        "argv": app.argv,
        "env": app.env,
        "workers": 1,
        "fake_openai_argv": app.fake_openai_argv,
    }
