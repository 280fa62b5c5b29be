"""Scenario (a): N concurrent clients, each continuing its own conversation, LLM latency 1 s.

Each client first starts its own conversation (not timed). Then the clients begin looping
ContinueConversation one after another, spread evenly over one LLM latency, so turns arrive
at a steady rate as they would from independent users (with `stagger=False` they all begin
at once and stay in lock-step waves: the burst worst case). The measured window opens once
every client is looping; it counts the turns that complete inside it, and their latency.
The ceiling is clients ÷ LLM latency turns/s.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx2

from bench.processes import CpuMeter
from bench.rpc import continue_async, start_async
from bench.stats import summarize_ms

START_CONCURRENCY = 16


@dataclass
class _Turns:
    began: list[float] = field(default_factory=list)  # perf_counter at the request
    ended: list[float] = field(default_factory=list)  # perf_counter at the reply
    errors: list[tuple[float, str]] = field(default_factory=list)


async def _client(
    http: httpx2.AsyncClient,
    number: int,
    conversation_id: str,
    *,
    begin_at: float,
    deadline: float,
    turns: _Turns,
) -> None:
    await asyncio.sleep(max(0.0, begin_at - time.perf_counter()))
    turn = 0
    while time.perf_counter() < deadline:
        turn += 1
        began = time.perf_counter()
        try:
            await continue_async(http, conversation_id, f"client {number} turn {turn}: go on")
        except Exception as exc:  # counted, not fatal: the run goes on
            turns.errors.append((time.perf_counter(), f"{type(exc).__name__}: {str(exc)[:120]}"))
            await asyncio.sleep(0.05)  # a failing app must not turn this into a busy loop
            continue
        turns.began.append(began)
        turns.ended.append(time.perf_counter())


async def _run(
    url: str,
    *,
    clients: int,
    duration_s: float,
    ramp_s: float,
    meter: CpuMeter,
) -> tuple[_Turns, float, float]:
    """Returns the turns, the seconds the starts took and the window's start."""
    limits = httpx2.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=120.0) as http:
        began = time.perf_counter()
        # A token per run: the response cache keys on the prompt, so a run repeating an
        # earlier run's conversations word for word would be answered from Redis.
        run = uuid.uuid4().hex[:8]
        # At most START_CONCURRENCY starts at once: 128 at once can outlast MONGO_TIMEOUT_MS on
        # a loaded secantusd-py, and the starts are set-up, not the measurement.
        starting = asyncio.Semaphore(START_CONCURRENCY)

        async def start(n: int) -> str:
            async with starting:
                return await start_async(http, f"bench client {n} (run {run}): hello")

        ids = await asyncio.gather(*(start(n) for n in range(clients)))
        setup_s = time.perf_counter() - began
        turns = _Turns()
        ramp_start = time.perf_counter()
        window_start = ramp_start + ramp_s
        deadline = window_start + duration_s
        meter_task = asyncio.create_task(_meter(meter, window_start, deadline))
        await asyncio.gather(
            *(
                _client(
                    http,
                    n,
                    cid,
                    begin_at=ramp_start + ramp_s * n / clients,
                    deadline=deadline,
                    turns=turns,
                )
                for n, cid in enumerate(ids)
            )
        )
        await meter_task
    return turns, setup_s, window_start


async def _meter(meter: CpuMeter, start: float, stop: float) -> None:
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    meter.start()
    await asyncio.sleep(max(0.0, stop - time.perf_counter()))
    meter.stop()


def run(
    url: str,
    *,
    clients: int,
    duration_s: float,
    llm_latency_s: float,
    stagger: bool,
    pids: dict[str, int],
) -> dict[str, Any]:
    """Runs the scenario against the app at `url`; returns its results."""
    meter = CpuMeter(pids)
    ramp_s = llm_latency_s if stagger else 0.0
    # Lock-step clients would lose up to one turn each at the window's edges: give them a
    # window that starts with the first wave and count every turn started inside it.
    turns, setup_s, window_start = asyncio.run(
        _run(url, clients=clients, duration_s=duration_s, ramp_s=ramp_s, meter=meter)
    )
    deadline = window_start + duration_s
    pairs = list(zip(turns.began, turns.ended, strict=True))
    if stagger:
        counted = [(b, e) for b, e in pairs if window_start <= e <= deadline]
        elapsed_s = duration_s
    else:
        counted = [(b, e) for b, e in pairs if b >= window_start]
        elapsed_s = max((e for _, e in counted), default=deadline) - window_start
    latencies = [e - b for b, e in counted]
    turns_per_s = len(counted) / elapsed_s
    ceiling = clients / llm_latency_s if llm_latency_s > 0 else float("inf")
    mean_s = sum(latencies) / len(latencies) if latencies else 0.0
    errors = collections.Counter(
        kind for at, kind in turns.errors if window_start <= at <= deadline + 120
    )
    return {
        "clients": clients,
        "llm_latency_s": llm_latency_s,
        "duration_s": duration_s,
        "arrivals": "staggered over one LLM latency" if stagger else "lock-step waves",
        "start_conversations_s": round(setup_s, 2),
        "turns": len(counted),
        "turns_per_s": round(turns_per_s, 2),
        "turns_per_s_littles_law": round(clients / mean_s, 2) if mean_s else 0.0,
        "ceiling_turns_per_s": round(ceiling, 2),
        "ratio_to_ceiling": round(turns_per_s / ceiling, 3),
        "target_ratio": 0.9,
        "meets_target": turns_per_s / ceiling >= 0.9,
        "latency": summarize_ms(latencies),
        "overhead_over_llm_ms": {
            "p50": round(summarize_ms(latencies).get("p50_ms", 0) - 1000 * llm_latency_s, 2),
            "mean": round(1000 * (mean_s - llm_latency_s), 2),
        },
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(5)),
        "cpu": meter.summary(len(counted)),
        "cpu_window_s": round(meter.wall_s, 2),
    }
