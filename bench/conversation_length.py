"""Turn latency against conversation length, 10 to 10,000 messages, with an instant provider.

Conversations are seeded straight into the database through the app's own repository (as
bench.history_length does). Turns run one at a time, interleaved between the lengths in a
rotating order, so machine noise hits every length alike. Lengths up to 100 get a fresh
conversation per turn (each turn is measured at exactly that length); longer ones share one
conversation that grows by 2 messages per turn, a negligible change at 1,000 and beyond.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx2

from bench.history_length import _Seeder
from bench.processes import CpuMeter
from bench.rpc import continue_sync
from bench.stats import summarize_ms

LENGTHS = (10, 100, 1_000, 10_000)
FRESH_UP_TO = 100
WARMUP_TURNS = 3


def run(
    url: str,
    *,
    mongo_uri: str,
    database: str,
    lengths: Sequence[int] = LENGTHS,
    turns: int,
    pids: dict[str, int],
) -> dict[str, Any]:
    """Runs `turns` measured turns (plus warm-ups) at each length; returns the summaries."""
    seeder = _Seeder(mongo_uri, database)
    began = time.perf_counter()
    plan: dict[int, list[str]] = {}
    try:
        for length in lengths:
            count = turns + WARMUP_TURNS if length <= FRESH_UP_TO else 1
            plan[length] = [seeder.conversation(length) for _ in range(count)]
    finally:
        seeder.close()
    seed_s = time.perf_counter() - began

    # The seeds of one length are identical, and the response cache keys on the prompt: a
    # token per run keeps every turn a miss, as in (b).
    run_token = uuid.uuid4().hex[:8]
    latencies: dict[int, list[float]] = {length: [] for length in lengths}
    errors = 0
    meter = CpuMeter(pids)

    def target(length: int, turn: int) -> str:
        ids = plan[length]
        return ids[turn] if len(ids) > 1 else ids[0]

    with httpx2.Client(base_url=url, timeout=60.0) as http:
        for turn in range(WARMUP_TURNS):
            for length in lengths:
                continue_sync(http, target(length, turns + turn), f"warm-up {turn} ({run_token})")
        meter.start()
        order = list(lengths)
        for turn in range(turns):
            shift = turn % len(order)
            for length in order[shift:] + order[:shift]:
                began = time.perf_counter()
                try:
                    continue_sync(http, target(length, turn), f"measured turn {turn} ({run_token})")
                except Exception:
                    errors += 1
                    continue
                latencies[length].append(time.perf_counter() - began)
        meter.stop()

    rows = [{"messages": length, **summarize_ms(latencies[length])} for length in lengths]
    first, last = rows[0], rows[-1]
    ratio = round(last["p50_ms"] / first["p50_ms"], 3) if first.get("p50_ms") else float("nan")
    return {
        "llm_latency_s": 0.0,
        "seeded_via": "MongoConversationRepository.create (direct, one transaction each)",
        "seed_s": round(seed_s, 2),
        "turns_per_length": turns,
        "fresh_conversation_per_turn_up_to": FRESH_UP_TO,
        "lengths": rows,
        f"ratio_p50_{lengths[-1]}_to_{lengths[0]}": ratio,
        "errors": errors,
        "cpu": meter.summary(sum(len(v) for v in latencies.values())),
    }
