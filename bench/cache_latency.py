"""Cache hit vs miss latency with a 500 ms fake provider: `python -m bench.cache_latency`.

Starts the stack (Redis, secantusd-py, a fake OpenAI server answering after `--llm-latency-s`,
the app under one uvicorn worker with the cache on), then for each of `--questions` distinct
questions: one StartConversation (a miss: the reply and the title both wait on the provider)
and `--repeats` more with the same question (hits: both come from Redis). Prints the latency
summaries and the ratio of the median miss to the median hit.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

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


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llm-latency-s", type=float, default=0.5)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with Stack() as stack, stack.app(llm_latency_s=args.llm_latency_s, name="cache") as app:
        with httpx2.Client(base_url=app.url, timeout=60) as client:
            _start(client, "warm-up: connections and code paths")
            misses, hits = [], []
            for n in range(args.questions):
                question = f"question {n} ({uuid.uuid4().hex[:8]}): what is a monad?"
                misses.append(_start(client, question))
                hits.extend(_start(client, question) for _ in range(args.repeats))
        database = stack.database_info()
    miss, hit = summarize_ms(misses), summarize_ms(hits)
    result = {
        "scenario": "StartConversation, cache miss vs hit (reply and title cached)",
        "llm_latency_s": args.llm_latency_s,
        "miss": miss,
        "hit": hit,
        "median_miss_over_hit": round(miss["p50_ms"] / hit["p50_ms"], 1),
        "app": {"argv": app.argv, "env": app.env},
        "database": database,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
