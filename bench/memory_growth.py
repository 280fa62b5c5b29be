"""Resident memory of one app worker over 10,000 turns: is there a growth trend?

A few concurrent clients send turns with an instant provider, each client starting a new
conversation every `TURNS_PER_CONVERSATION` turns (so conversations, cache keys and sessions
keep changing, as in real traffic). The worker's RSS (VmRSS in /proc) is sampled every
`sample_every` turns. A least-squares line over the samples after the warm-up fifth gives the
trend in KiB per 1,000 turns: a leak shows as a steady positive slope, not as noise.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx2

from bench.rpc import continue_async, start_async

CLIENTS = 4
TURNS_PER_CONVERSATION = 20


def rss_kib(pid: int) -> int:
    """Returns the resident set size of process `pid`, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def fit_line(points: list[tuple[int, int]]) -> tuple[float, float]:
    """Returns the least-squares (slope, intercept) of (turns, KiB) points."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx if sxx else 0.0
    return slope, mean_y - slope * mean_x


async def _run(url: str, *, pid: int, turns: int, sample_every: int) -> list[tuple[int, int]]:
    samples = [(0, rss_kib(pid))]
    done = 0
    next_sample = sample_every
    lock = asyncio.Lock()
    run = uuid.uuid4().hex[:8]  # every turn a cache miss, whatever ran before

    async def client(number: int) -> None:
        nonlocal done, next_sample
        async with httpx2.AsyncClient(base_url=url, timeout=60.0) as http:
            conversation = ""
            turn = 0
            while True:
                async with lock:
                    if done >= turns:
                        return
                    done += 1
                if turn % TURNS_PER_CONVERSATION == 0:
                    conversation = await start_async(http, f"memory {run} client {number} #{turn}")
                else:
                    await continue_async(http, conversation, f"turn {turn}: tell me more")
                turn += 1
                async with lock:
                    if done >= next_sample:
                        samples.append((done, rss_kib(pid)))
                        next_sample += sample_every

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    samples.append((done, rss_kib(pid)))
    return samples


def run(url: str, *, pid: int, turns: int, sample_every: int = 250) -> dict[str, Any]:
    """Sends `turns` turns to the app at `url`, sampling the RSS of `pid`; returns the trend."""
    samples = asyncio.run(_run(url, pid=pid, turns=turns, sample_every=sample_every))
    steady = [s for s in samples if s[0] >= turns // 5]
    slope, intercept = fit_line(steady)
    first, last = steady[0][1], steady[-1][1]
    ends = (steady[0][0], steady[-1][0])
    return {
        "llm_latency_s": 0.0,
        "turns": turns,
        "clients": CLIENTS,
        "turns_per_conversation": TURNS_PER_CONVERSATION,
        "rss_kib_at_start": samples[0][1],
        "rss_kib_after_warmup": first,
        "rss_kib_at_end": last,
        "slope_kib_per_1000_turns": round(1000 * slope, 1),
        "growth_over_fit_kib": round(slope * (ends[1] - ends[0])),
        "fit_line": [[x, round(intercept + slope * x)] for x in ends],
        "samples": [{"turns": t, "rss_kib": k} for t, k in samples],
    }
