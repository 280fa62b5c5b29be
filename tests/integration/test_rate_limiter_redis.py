"""RedisRateLimiter against a real Redis: one bucket shared by workers; fallback when down."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from chat_service.adapters.memory.rate_limiter import MemoryRateLimiter
from chat_service.adapters.redis.client import connect_redis_async, read_slot_map
from chat_service.adapters.redis.rate_limiter import RedisRateLimiter
from chat_service.core.availability import RedisAvailability
from devstack.process import free_port


@contextlib.asynccontextmanager
async def limiters(url: str, *, rps: float, burst: int, workers: int = 1):
    """`workers` limiters on one bucket namespace, each with its own client, closed on exit."""
    prefix = f"test:{uuid.uuid4().hex}:"
    clients = [connect_redis_async(url, timeout_s=2) for _ in range(workers)]
    for client in clients:
        await read_slot_map(client)  # as the app does at start-up
    try:
        yield [
            RedisRateLimiter(
                client,
                rps=rps,
                burst=burst,
                availability=RedisAvailability(),
                fallback=MemoryRateLimiter(rps=rps, burst=burst),
                prefix=prefix,
            )
            for client in clients
        ]
    finally:
        for client in clients:
            await client.aclose()


def test_workers_share_one_bucket(any_redis_url):
    async def scenario():
        async with limiters(any_redis_url, rps=0.1, burst=5, workers=2) as workers:
            return [await workers[i % 2].hit(["ip:1"]) for i in range(8)]

    decisions = asyncio.run(scenario())
    assert [d.admitted for d in decisions] == [True] * 5 + [False] * 3
    assert decisions[-1].bucket == "ip:1"
    assert 9 < decisions[-1].retry_after_s <= 10  # one emission interval, 1/rps


def test_a_refused_request_charges_no_bucket(any_redis_url):
    async def scenario():
        async with limiters(any_redis_url, rps=0.1, burst=1) as (shared,):
            assert (await shared.hit(["ip:1"])).admitted
            refused = await shared.hit(["key:k", "ip:1"])
            assert not refused.admitted
            assert refused.bucket == "ip:1"
            assert (await shared.hit(["key:k"])).admitted

    asyncio.run(scenario())


def test_with_redis_down_the_process_limits_on_its_own():
    async def scenario():
        async with limiters(f"redis://127.0.0.1:{free_port()}/0", rps=0.1, burst=2) as (down,):
            return [(await down.hit(["ip:1"])).admitted for _ in range(3)]

    assert asyncio.run(scenario()) == [True, True, False]


@pytest.mark.parametrize("burst", [1, 3])
def test_the_burst_is_exact(any_redis_url, burst):
    async def scenario():
        async with limiters(any_redis_url, rps=0.01, burst=burst) as (shared,):
            return [(await shared.hit(["b"])).admitted for _ in range(burst + 2)]

    assert asyncio.run(scenario()) == [True] * burst + [False] * 2


def test_concurrent_requests_of_two_workers_on_two_buckets_admit_exactly_the_burst(any_redis_url):
    async def scenario():
        async with limiters(any_redis_url, rps=0.01, burst=5, workers=2) as workers:
            hits = [workers[i % 2].hit(["owner:o", "ip:1"]) for i in range(30)]
            decisions = await asyncio.gather(*hits)
            after = await workers[0].hit(["owner:other", "ip:2"])
            return decisions, after

    decisions, after = asyncio.run(scenario())
    assert sum(d.admitted for d in decisions) == 5
    assert after.admitted  # other buckets were never charged by the refusals
