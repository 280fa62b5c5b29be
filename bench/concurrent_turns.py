"""Scenario (a): N concurrent clients, each continuing its own conversation, LLM latency 1 s.

Each client first starts its own conversation (not timed), then all loop ContinueConversation
until the window closes. Throughput counts turns that completed inside the window; latency
covers every turn started inside it. The ceiling is clients ÷ LLM latency turns/s.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2

from bench.processes import CpuMeter
from bench.rpc import continue_async, start_async
from bench.stats import summarize_ms


@dataclass
class _Turns:
    ends: list[float] = field(default_factory=list)  # perf_counter at completion
    latencies_s: list[float] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)


async def _client(
    http: httpx2.AsyncClient, number: int, conversation_id: str, deadline: float, turns: _Turns
) -> None:
    turn = 0
    while time.perf_counter() < deadline:
        turn += 1
        began = time.perf_counter()
        try:
            await continue_async(http, conversation_id, f"client {number} turn {turn}: go on")
        except Exception as exc:  # counted, not fatal: the run goes on
            turns.errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
            await asyncio.sleep(0.05)  # a failing app must not turn this into a busy loop
            continue
        ended = time.perf_counter()
        turns.ends.append(ended)
        turns.latencies_s.append(ended - began)


async def _run(
    url: str, *, clients: int, duration_s: float, meter: CpuMeter
) -> tuple[_Turns, float, float]:
    """Returns the turns, the seconds the starts took and the window's deadline."""
    limits = httpx2.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    timeout = httpx2.Timeout(120.0)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:
        began = time.perf_counter()
        ids = await asyncio.gather(
            *(start_async(http, f"bench client {n}: hello") for n in range(clients))
        )
        setup_s = time.perf_counter() - began
        turns = _Turns()
        meter.start()
        window_start = time.perf_counter()
        deadline = window_start + duration_s
        await asyncio.gather(
            *(_client(http, n, cid, deadline, turns) for n, cid in enumerate(ids))
        )
        meter.stop()
    return turns, setup_s, deadline


def run(
    url: str,
    *,
    clients: int,
    duration_s: float,
    llm_latency_s: float,
    pids: dict[str, int],
) -> dict[str, Any]:
    """Runs the scenario against the app at `url`; returns its results."""
    meter = CpuMeter(pids)
    turns, setup_s, deadline = asyncio.run(
        _run(url, clients=clients, duration_s=duration_s, meter=meter)
    )
    in_window = sum(1 for end in turns.ends if end <= deadline)
    turns_per_s = in_window / duration_s
    ceiling = clients / llm_latency_s if llm_latency_s > 0 else float("inf")
    return {
        "clients": clients,
        "llm_latency_s": llm_latency_s,
        "duration_s": duration_s,
        "start_conversations_s": round(setup_s, 2),
        "turns_in_window": in_window,
        "turns_total": len(turns.ends),
        "turns_per_s": round(turns_per_s, 2),
        "ceiling_turns_per_s": round(ceiling, 2),
        "ratio_to_ceiling": round(turns_per_s / ceiling, 3),
        "target_ratio": 0.9,
        "meets_target": turns_per_s / ceiling >= 0.9,
        "latency": summarize_ms(turns.latencies_s),
        "errors": sum(turns.errors.values()),
        "error_kinds": dict(turns.errors.most_common(5)),
        "cpu": meter.summary(len(turns.ends)),
        "cpu_window_s": round(meter.wall_s, 2),
    }
