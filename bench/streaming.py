"""Streamed turns on one worker: `python -m bench.streaming` (or `python -m bench --only streaming`).

The fake OpenAI server streams each answer like a model: its first delta `--first-token-s`
(300 ms) after the request, then `--words` (60) deltas `--gap-s` (20 ms) apart. `--streams` (64)
clients, each on a conversation of its own, run `--rounds` streamed ContinueConversation turns
one after the other (POST /stream/..., read with httpx2 on one asyncio loop); their first turns
start spread over one turn's length, so 64 streams are open at any time, as in steady traffic,
rather than 64 turns starting in the same millisecond. Measured at the client:

- first token added: time from sending the request to the first `delta` event, minus the
  provider's own first-token time (its configured delay; the fake's timer overshoots by well
  under a millisecond);
- token gap added: each gap between two consecutive deltas minus the provider's gap;
- resume latency: GET /stream/turns/<id>?after=0 of an ended turn (served from Redis), to its
  first event and to its end;
- memory per open stream: the worker's RSS with `--streams` streams open and waiting on a
  provider that has not answered yet (each holds a connection, a turn thread and its events),
  minus its RSS before, divided by the streams.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import time
from typing import Any

import httpx2

from bench.memory_growth import rss_kib
from bench.processes import cpu_seconds
from bench.stack import Stack
from bench.stats import summarize_ms

RPC = "/twirp/acai.chat.ChatService/"
STREAM = "/stream/acai.chat.ChatService/ContinueConversation"
STREAMS = 64
ROUNDS = 3
FIRST_TOKEN_S = 0.3
GAP_S = 0.02
WORDS = 60
# One owner runs every stream: no cap on its open streams. No response cache: every turn
# streams from the provider (a cached answer would be replayed at once).
SETTINGS = {"MAX_STREAMS_PER_OWNER": "0", "CACHE_TTL_HOURS": "0"}
TARGETS = {"first_token_added_p50_ms": 10, "first_token_added_p99_ms": 40, "gap_added_p99_ms": 5}


async def _events(response: httpx2.Response) -> Any:
    """Yields (arrival time, event name, data) of each SSE event."""
    name = ""
    data = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and name:
            yield time.perf_counter(), name, data
            name = data = ""


async def _turn(client: httpx2.AsyncClient, conversation: str, message: str) -> dict[str, Any]:
    began = time.perf_counter()
    deltas: list[float] = []
    turn_id = ""
    async with client.stream(
        "POST", STREAM, json={"conversation_id": conversation, "message": message}
    ) as response:
        response.raise_for_status()
        turn_id = response.headers["x-turn-id"]
        async for arrived, name, _ in _events(response):
            if name == "delta":
                deltas.append(arrived)
            elif name in ("failed", "cancelled"):
                raise RuntimeError(f"a streamed turn ended {name}")
        # Read to its end (the server closes the stream after `completed`): the connection
        # goes back to the pool, as a browser's or an SDK's does.
    return {"began": began, "deltas": deltas, "turn_id": turn_id}


async def _conversations(client: httpx2.AsyncClient, count: int) -> list[str]:
    async def one(n: int) -> str:
        answer = await client.post(RPC + "StartConversation", json={"message": f"stream {n}"})
        answer.raise_for_status()
        return str(answer.json()["conversation_id"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def _streams(
    url: str,
    *,
    streams: int,
    rounds: int,
    first_token_s: float,
    gap_s: float,
    pids: dict[str, int],
) -> dict[str, Any]:
    limits = httpx2.Limits(max_connections=streams + 8, max_keepalive_connections=streams + 8)
    async with httpx2.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        conversations = await _conversations(client, streams)
        await _turn(client, conversations[0], "warm-up")
        first_added: list[float] = []
        gaps_added: list[float] = []
        turn_ids: list[str] = []
        deltas_per_turn: list[int] = []
        # Steady state: the clients' first turns are spread over one turn's length, then each
        # starts its next turn when the last ended, so `streams` streams are open at any time
        # without every turn starting in the same instant.
        spread_s = first_token_s + WORDS * gap_s

        async def client_turns(number: int, conversation: str) -> None:
            await asyncio.sleep(spread_s * number / streams)
            for round_number in range(rounds):
                turn = await _turn(client, conversation, f"round {round_number}")
                deltas = turn["deltas"]
                deltas_per_turn.append(len(deltas))
                first_added.append(deltas[0] - turn["began"] - first_token_s)
                gaps_added.extend(b - a - gap_s for a, b in itertools.pairwise(deltas))
                turn_ids.append(turn["turn_id"])

        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        wall_began = time.perf_counter()
        await asyncio.gather(*(client_turns(n, c) for n, c in enumerate(conversations)))
        wall_s = time.perf_counter() - wall_began
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        resume_first, resume_all = [], []
        for turn_id in turn_ids[: min(len(turn_ids), 100)]:
            began = time.perf_counter()
            async with client.stream("GET", f"/stream/turns/{turn_id}?after=0") as response:
                response.raise_for_status()
                first = None
                async for arrived, _, _ in _events(response):
                    first = first or arrived
            resume_first.append((first or time.perf_counter()) - began)
            resume_all.append(time.perf_counter() - began)
    deltas = sum(deltas_per_turn)
    return {
        "turns": len(turn_ids),
        "deltas_per_turn": min(deltas_per_turn),
        "window_s": round(wall_s, 2),
        "cores_used": {name: round(seconds / wall_s, 2) for name, seconds in cpu.items()},
        "app_cpu_us_per_delta": round(1e6 * cpu["app"] / deltas, 1),
        "first_token_added": summarize_ms(first_added),
        "gap_added": summarize_ms(gaps_added),
        "resume_first_event": summarize_ms(resume_first),
        "resume_whole_turn": summarize_ms(resume_all),
    }


async def _open_streams(url: str, *, pid: int, streams: int) -> dict[str, Any]:
    """Opens `streams` streams whose provider has not answered; samples the worker's RSS."""
    limits = httpx2.Limits(max_connections=streams + 8, max_keepalive_connections=streams + 8)
    async with httpx2.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        conversations = await _conversations(client, streams)
        await asyncio.sleep(1.0)
        before = rss_kib(pid)
        opened = asyncio.Event()
        started = 0
        release = asyncio.Event()

        async def hold(conversation: str) -> None:
            nonlocal started
            async with client.stream(
                "POST", STREAM, json={"conversation_id": conversation, "message": "wait"}
            ) as response:
                response.raise_for_status()
                async for _, name, _ in _events(response):
                    if name == "started":
                        started += 1
                        if started == streams:
                            opened.set()
                        await release.wait()
                        return

        holders = [asyncio.ensure_future(hold(c)) for c in conversations]
        await asyncio.wait_for(opened.wait(), 60)
        await asyncio.sleep(0.5)
        during = rss_kib(pid)
        release.set()
        await asyncio.gather(*holders)
    return {
        "streams": streams,
        "rss_before_kib": before,
        "rss_open_kib": during,
        "kib_per_open_stream": round((during - before) / streams, 1),
    }


def run(
    stack: Stack,
    *,
    streams: int = STREAMS,
    rounds: int = ROUNDS,
    first_token_s: float = FIRST_TOKEN_S,
    gap_s: float = GAP_S,
    words: int = WORDS,
) -> dict[str, Any]:
    """Runs the scenario on apps of `stack`; returns the figures and the targets."""
    with stack.app(
        llm_latency_s=0.0,
        name="streaming",
        first_token_delay_s=first_token_s,
        token_gap_s=gap_s,
        reply_words=words,
        settings=SETTINGS,
    ) as app:
        pids = {
            "app": app.pid,
            "fake_openai": app.fake_openai_pid,
            **stack.server_pids(),
            "bench_client": os.getpid(),
        }
        result = asyncio.run(
            _streams(
                app.url,
                streams=streams,
                rounds=rounds,
                first_token_s=first_token_s,
                gap_s=gap_s,
                pids=pids,
            )
        )
        # The same at a quarter of the streams: what the service adds when the CPU has room.
        quarter = max(1, streams // 4)
        result["at_quarter"] = asyncio.run(
            _streams(
                app.url,
                streams=quarter,
                rounds=rounds,
                first_token_s=first_token_s,
                gap_s=gap_s,
                pids=pids,
            )
        ) | {"streams": quarter}
        result["app"] = {"argv": app.argv, "env": app.env, "fake_openai_argv": app.fake_openai_argv}
    with stack.app(
        llm_latency_s=0.0,
        name="streaming-open",
        first_token_delay_s=20.0,
        token_gap_s=gap_s,
        reply_words=words,
        settings=SETTINGS,
    ) as app:
        result["memory"] = asyncio.run(_open_streams(app.url, pid=app.pid, streams=streams))
    measured = {
        "first_token_added_p50_ms": result["first_token_added"]["p50_ms"],
        "first_token_added_p99_ms": result["first_token_added"]["p99_ms"],
        "gap_added_p99_ms": result["gap_added"]["p99_ms"],
    }
    return {
        "scenario": f"{streams} concurrent streamed turns on one worker",
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "streams": streams,
        "rounds": rounds,
        "provider": {"first_token_s": first_token_s, "gap_s": gap_s, "words": words},
        **result,
        "targets_ms": TARGETS,
        "targets_met": {name: measured[name] <= limit for name, limit in TARGETS.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=STREAMS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--first-token-s", type=float, default=FIRST_TOKEN_S)
    parser.add_argument("--gap-s", type=float, default=GAP_S)
    parser.add_argument("--words", type=int, default=WORDS)
    args = parser.parse_args(argv)
    with Stack() as stack:
        result = run(
            stack,
            streams=args.streams,
            rounds=args.rounds,
            first_token_s=args.first_token_s,
            gap_s=args.gap_s,
            words=args.words,
        )
        result["database"] = stack.database_info()
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
