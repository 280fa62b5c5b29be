"""The evidence scenarios: each runs against the shared stack and writes JSON plus a PNG.

| name                | what                                                        |
|---------------------|-------------------------------------------------------------|
| concurrency         | throughput, p50/p99 at 16/64/256 clients, 1 s provider      |
| length              | turn latency at 10 … 10,000 stored messages, instant provider |
| cache               | cache hit vs miss latency and provider calls saved, 500 ms  |
| cpu                 | app CPU per turn vs a bare uvicorn app, instant provider    |
| memory              | worker RSS over 10,000 turns and its fitted trend           |
| owner               | peak memory and time of one owner's export and erasure      |
| streaming           | 64 streams: first token and token gap added, memory, resume |
| round_trips         | MongoDB and Redis round trips and bytes of one turn          |
| bursts              | lock-step clients at 16/64/128, 1 s provider: added latency  |
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    bursts,
    cache_latency,
    concurrency_sweep,
    conversation_length,
    cpu_per_turn,
    memory_growth,
    owner_memory,
    plots,
    round_trips,
    streaming,
)
from bench.processes import ROOT
from bench.round_trips import COUNTERS_FILE, with_before
from bench.stack import App, Stack
from chat_service.observability.round_trips import COUNT_ROUND_TRIPS_VARIABLE

# The order they run in (after (a) and (b)). The scenarios that write tens of thousands of
# records come last: secantusd-py keeps every retryable write's record for a while and prunes
# them by a scan on each write, so after `memory` (10,000 turns) the development server spent
# half its CPU on that scan, and streaming and bursts measured it rather than the service
# (64 clients in lock-step: 40 % of the ceiling after it, 91 % before).
NAMES = (
    "concurrency",
    "cpu",
    "streaming",
    "round_trips",
    "bursts",
    "cache",
    "length",
    "memory",
    "owner",
)
OUT_DIR = ROOT / "docs" / "benchmarks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the evidence scenarios (all have defaults that fit `make bench`)."""
    group = parser.add_argument_group("evidence scenarios")
    group.add_argument(
        "--levels",
        type=int,
        nargs="+",
        default=list(concurrency_sweep.LEVELS),
        help="concurrency: client counts (default: %(default)s)",
    )
    group.add_argument(
        "--level-duration-s",
        type=float,
        default=15.0,
        help="concurrency: window per level (default: %(default)s)",
    )
    group.add_argument(
        "--burst-levels",
        type=int,
        nargs="+",
        default=list(bursts.LEVELS),
        help="bursts: lock-step client counts (default: %(default)s)",
    )
    group.add_argument(
        "--length-turns",
        type=int,
        default=40,
        help="length: measured turns per length (default: %(default)s)",
    )
    group.add_argument(
        "--cache-questions",
        type=int,
        default=20,
        help="cache: distinct questions, 5 repeats each (default: %(default)s)",
    )
    group.add_argument(
        "--cpu-turns", type=int, default=1000, help="cpu: measured turns (default: %(default)s)"
    )
    group.add_argument(
        "--memory-turns",
        type=int,
        default=10_000,
        help="memory: turns served (default: %(default)s)",
    )
    group.add_argument(
        "--owner-sizes",
        type=int,
        nargs="+",
        default=list(owner_memory.SIZES),
        help="owner: the owner's conversations, one run each (default: %(default)s)",
    )
    group.add_argument(
        "--owner-long-messages",
        type=int,
        default=owner_memory.LONG_MESSAGES,
        help="owner: messages of the owner's one long conversation (default: %(default)s)",
    )
    group.add_argument(
        "--stream-clients",
        type=int,
        default=streaming.STREAMS,
        help="streaming: concurrent streams (default: %(default)s)",
    )
    group.add_argument(
        "--stream-rounds",
        type=int,
        default=streaming.ROUNDS,
        help="streaming: streamed turns per client (default: %(default)s)",
    )
    group.add_argument(
        "--out-dir",
        default=str(OUT_DIR),
        help="where <scenario>.json and .png go (default: docs/benchmarks)",
    )


def _pids(stack: Stack, app: App) -> dict[str, int]:
    return {
        "app": app.pid,
        "fake_openai": app.fake_openai_pid,
        **stack.server_pids(),
        "bench_client": os.getpid(),
    }


def _concurrency(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    with stack.app(llm_latency_s=1.0, name="concurrency") as app:
        return concurrency_sweep.run(
            app.url,
            levels=args.levels,
            duration_s=args.level_duration_s,
            llm_latency_s=1.0,
            pids=_pids(stack, app),
        )


def _length(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    with stack.app(llm_latency_s=0.0, name="length") as app:
        return conversation_length.run(
            app.url,
            mongo_uri=stack.mongo_uri,
            database=stack.database,
            turns=args.length_turns,
            pids=_pids(stack, app),
        )


def _cache(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    with stack.app(llm_latency_s=0.5, name="cache") as app:
        return cache_latency.run(
            app.url,
            fake_openai_url=app.fake_openai_url,
            llm_latency_s=0.5,
            questions=args.cache_questions,
            repeats=5,
        )


def _cpu(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    with stack.app(llm_latency_s=0.0, name="cpu") as app:
        others = {k: v for k, v in _pids(stack, app).items() if k != "app"}
        return cpu_per_turn.run(
            app.url, turns=args.cpu_turns, app_pid=app.pid, other_pids=others, log_dir=stack.dir
        )


def _memory(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    with stack.app(llm_latency_s=0.0, name="memory") as app:
        return memory_growth.run(app.url, pid=app.pid, turns=args.memory_turns)


def _owner(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    assert stack.redis is not None
    return owner_memory.run(
        stack.mongo_uri,
        stack.redis.url,
        sizes=tuple(args.owner_sizes),
        long_messages=args.owner_long_messages,
        scratch=stack.dir,
    )


def _streaming(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    return streaming.run(stack, streams=args.stream_clients, rounds=args.stream_rounds)


def _round_trips(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    path = stack.dir / COUNTERS_FILE
    # The default rate limit stays on: its calls are part of a turn's cost.
    env = {COUNT_ROUND_TRIPS_VARIABLE: str(path), "API_RATE_LIMIT_RPS": "20"}
    with stack.app(llm_latency_s=0.0, name="round-trips", settings=env) as app:
        result = round_trips.run(app.url, app_pid=app.pid, counters_path=path)
    return with_before(result, Path(args.out_dir))


def _bursts(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    with stack.app(llm_latency_s=1.0, name="bursts") as app:
        return bursts.run(
            app.url,
            levels=args.burst_levels,
            duration_s=args.level_duration_s,
            llm_latency_s=1.0,
            pids=_pids(stack, app),
        )


RUNNERS: dict[str, Callable[[Stack, argparse.Namespace], dict[str, Any]]] = {
    "concurrency": _concurrency,
    "length": _length,
    "cache": _cache,
    "cpu": _cpu,
    "memory": _memory,
    "owner": _owner,
    "streaming": _streaming,
    "round_trips": _round_trips,
    "bursts": _bursts,
}
PLOTS = plots.DRAWERS


def run(name: str, stack: Stack, args: argparse.Namespace, context: dict[str, Any]) -> Path:
    """Runs scenario `name`, writes `<name>.json` and `<name>.png`; returns the JSON path."""
    result = RUNNERS[name](stack, args)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamped = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": name,
        **context,
        "result": result,
    }
    path = out / f"{name}.json"
    path.write_text(json.dumps(stamped, indent=2) + "\n")
    PLOTS[name](result, out / f"{name}.png")
    return path
