"""Scenario (b): turn latency with an instant LLM at conversation length 10 and 1,000.

Conversations are seeded straight into the database through the app's own repository
(MongoConversationRepository.create, one transaction each), so documents look exactly like
the app's. Measured turns run one at a time, interleaved between the series (the order is
rotated every round) so machine noise hits every series alike. Every "10" turn uses its own
freshly seeded 10-message conversation, so each is measured at exactly 10 messages; the
1,000-message conversation grows by 2 per turn (1,000 → 1,000 + turns). A diagnostic series
at 100 messages (past the app's 40-message history window, like 1,000) separates the cost of
a longer prompt from the cost of a longer stored conversation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pymongo

from bench.processes import CpuMeter
from bench.rpc import continue_sync
from bench.stats import summarize_ms
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.config import Settings
from chat_service.core.models import NewMessage, Role, SessionInfo
from chat_service.edge.handlers import ANONYMOUS_OWNER

SHORT, CONTROL, LONG = 10, 100, 1000
WARMUP_TURNS = 5
_FILLER = "a seeded message of about the length of a short chat line, " * 2


def _messages(count: int) -> list[NewMessage]:
    roles = (Role.USER, Role.ASSISTANT)
    return [NewMessage(roles[i % 2], f"seed {i}: {_FILLER}") for i in range(count)]


class _Seeder:
    def __init__(self, mongo_uri: str, database: str) -> None:
        self._client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            mongo_uri, tz_aware=True, serverSelectionTimeoutMS=30_000
        )
        self._repository = MongoConversationRepository(
            self._client[database], transaction_timeout_s=120
        )

    def conversation(self, length: int) -> str:
        created = self._repository.create(
            owner=ANONYMOUS_OWNER,
            title=f"bench {length} messages",
            session=SessionInfo("bench"),
            messages=_messages(length),
            now=datetime.now(UTC),
        )
        return created.id

    def close(self) -> None:
        self._client.close()


def _order(round_number: int, series: list[str]) -> Iterator[str]:
    shift = round_number % len(series)
    yield from series[shift:] + series[:shift]


def run(
    url: str,
    *,
    mongo_uri: str,
    database: str,
    turns: int,
    pids: dict[str, int],
) -> dict[str, Any]:
    """Runs `turns` measured turns split between 10 and 1,000 messages (plus the 100-message
    diagnostic series, turns ÷ 2 more); returns the results."""
    rounds = max(1, turns // 2)
    seeder = _Seeder(mongo_uri, database)
    began = time.perf_counter()
    try:
        shorts = [seeder.conversation(SHORT) for _ in range(rounds + WARMUP_TURNS)]
        control = seeder.conversation(CONTROL)
        long = seeder.conversation(LONG)
    finally:
        seeder.close()
    seed_s = time.perf_counter() - began

    latencies: dict[str, list[float]] = {"10": [], "100": [], "1000": []}
    errors = 0
    series = ["10", "1000", "100"]
    meter = CpuMeter(pids)
    with httpx2.Client(base_url=url, timeout=60.0) as http:
        for turn in range(WARMUP_TURNS):
            for conversation_id in (shorts.pop(), control, long):
                continue_sync(http, conversation_id, f"warm-up {turn}")
        meter.start()
        for number in range(rounds):
            for name in _order(number, series):
                conversation_id = {"10": shorts[number], "100": control, "1000": long}[name]
                began = time.perf_counter()
                try:
                    continue_sync(http, conversation_id, f"measured turn {number}")
                except Exception:
                    errors += 1
                    continue
                latencies[name].append(time.perf_counter() - began)
        meter.stop()

    summaries = {f"length_{name}": summarize_ms(values) for name, values in latencies.items()}
    short_s, long_s = summaries["length_10"], summaries["length_1000"]
    control_s = summaries["length_100"]
    measured = sum(len(v) for v in latencies.values())
    return {
        "llm_latency_s": 0.0,
        "seeded_via": "MongoConversationRepository.create (direct, one transaction each)",
        "seed_s": round(seed_s, 2),
        "turns_per_series": rounds,
        "llm_prompt_messages": _prompt_sizes(),
        "warmup_turns_per_series": WARMUP_TURNS,
        "long_length_range": [LONG + 2 * WARMUP_TURNS, LONG + 2 * (WARMUP_TURNS + rounds - 1)],
        **summaries,
        "ratio_1000_to_10_p50": _ratio(long_s, short_s, "p50_ms"),
        "ratio_1000_to_10_mean": _ratio(long_s, short_s, "mean_ms"),
        "ratio_1000_to_100_p50": _ratio(long_s, control_s, "p50_ms"),
        "ratio_1000_to_100_mean": _ratio(long_s, control_s, "mean_ms"),
        "target_ratio": 1.2,
        "meets_target": max(_ratio(long_s, short_s, "p50_ms"), _ratio(long_s, short_s, "mean_ms"))
        <= 1.2,
        "errors": errors,
        "cpu": meter.summary(measured),
    }


def _ratio(numerator: dict[str, float], denominator: dict[str, float], key: str) -> float:
    if key not in numerator or key not in denominator or not denominator[key]:
        return float("nan")
    return round(numerator[key] / denominator[key], 3)


def _prompt_sizes() -> dict[str, int]:
    """Messages each series sends to the LLM: its history (capped by HISTORY_MESSAGES, the
    default here) plus the new user message."""
    window = Settings().history_messages
    return {str(n): min(n, window) + 1 for n in (SHORT, CONTROL, LONG)}
