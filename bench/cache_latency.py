"""Cache hit vs miss latency with a 500 ms fake provider: `python -m bench.cache_latency`.

Starts the stack (Redis, secantusd-py, a fake OpenAI server answering after `--llm-latency-s`,
the app under one uvicorn worker with the cache on), then for each of `--questions` distinct
questions: one StartConversation (a miss: the reply and the title both wait on the provider)
and `--repeats` more with the same question (hits: both come from Redis). Prints the latency
summaries, the ratio of the median miss to the median hit, and the provider calls the cache
saved (counted by the fake provider itself). `python -m bench --only cache` runs the same.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

import httpx2

from bench.rpc import ROUTE
from bench.stack import Stack
from bench.stats import summarize_ms


def _start(client: httpx2.Client, message: str) -> float:
    began = time.perf_counter()
    response = client.post(ROUTE + "StartConversation", json={"message": message})
    elapsed = time.perf_counter() - began
    response.raise_for_status()
    return elapsed


def _provider_calls(fake_url: str) -> int:
    return int(httpx2.get(f"{fake_url}/fake/stats", timeout=10).json()["chat_completions"])


def run(
    url: str, *, fake_openai_url: str, llm_latency_s: float, questions: int, repeats: int
) -> dict[str, Any]:
    """Measures misses and hits against the app at `url`; returns the summaries."""
    with httpx2.Client(base_url=url, timeout=60) as client:
        _start(client, "warm-up: connections and code paths")
        misses, hits = [], []
        calls_before = _provider_calls(fake_openai_url)
        for n in range(questions):
            question = f"question {n} ({uuid.uuid4().hex[:8]}): what is a monad?"
            misses.append(_start(client, question))
            hits.extend(_start(client, question) for _ in range(repeats))
        calls = _provider_calls(fake_openai_url) - calls_before
    miss, hit = summarize_ms(misses), summarize_ms(hits)
    turns = len(misses) + len(hits)
    calls_per_miss = calls / len(misses) if misses else 0.0
    without_cache = round(calls_per_miss * turns)
    return {
        "scenario": "StartConversation, cache miss vs hit (reply and title cached)",
        "llm_latency_s": llm_latency_s,
        "questions": questions,
        "repeats": repeats,
        "miss": miss,
        "hit": hit,
        "median_miss_over_hit": round(miss["p50_ms"] / hit["p50_ms"], 1),
        "provider_calls": calls,
        "provider_calls_without_cache": without_cache,
        "provider_calls_saved": without_cache - calls,
        "provider_calls_saved_ratio": round(1 - calls / without_cache, 3) if without_cache else 0,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llm-latency-s", type=float, default=0.5)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with Stack() as stack, stack.app(llm_latency_s=args.llm_latency_s, name="cache") as app:
        result = run(
            app.url,
            fake_openai_url=app.fake_openai_url,
            llm_latency_s=args.llm_latency_s,
            questions=args.questions,
            repeats=args.repeats,
        )
        result["app"] = {"argv": app.argv, "env": app.env}
        result["database"] = stack.database_info()
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
