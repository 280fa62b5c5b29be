"""RedisAuthFailureLimiter against a real Redis: one count per address shared by workers,
checks that charge nothing, and the in-memory fallback while Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from chat_service.adapters.memory.auth_failures import MemoryAuthFailureLimiter
from chat_service.adapters.redis.auth_failures import RedisAuthFailureLimiter
from chat_service.adapters.redis.client import connect_redis_async, read_slot_map
from chat_service.core.availability import RedisAvailability
from devstack.process import free_port


@contextlib.asynccontextmanager
async def limiters(url: str, *, limit: int, window_s: float, workers: int = 1):
    """`workers` limiters on one namespace, each with its own client, closed on exit."""
    prefix = f"test:{uuid.uuid4().hex}:"
    clients = [connect_redis_async(url, timeout_s=2) for _ in range(workers)]
    for client in clients:
        await read_slot_map(client)  # as the app does at start-up
    try:
        yield [
            RedisAuthFailureLimiter(
                client,
                limit=limit,
                window_s=window_s,
                availability=RedisAvailability(),
                fallback=MemoryAuthFailureLimiter(limit=limit, window_s=window_s),
                prefix=prefix,
            )
            for client in clients
        ]
    finally:
        for client in clients:
            await client.aclose()


def test_workers_share_one_count_per_address(any_redis_url):
    async def scenario():
        async with limiters(any_redis_url, limit=3, window_s=60, workers=2) as workers:
            waits = []
            for number in range(4):
                worker = workers[number % 2]
                waits.append(await worker.retry_after_s("203.0.113.7"))
                await worker.record_failure("203.0.113.7")
            return waits, await workers[0].retry_after_s("198.51.100.1")

    waits, other = asyncio.run(scenario())
    assert waits[:3] == [0, 0, 0]
    assert 19 < waits[3] <= 20  # one emission interval: window / limit
    assert other == 0


def test_checks_charge_nothing(any_redis_url):
    async def scenario():
        async with limiters(any_redis_url, limit=2, window_s=60) as (shared,):
            checks = [await shared.retry_after_s("a") for _ in range(20)]
            await shared.record_failure("a")
            after_one = await shared.retry_after_s("a")
            await shared.record_failure("a")
            return checks, after_one, await shared.retry_after_s("a")

    checks, after_one, after_two = asyncio.run(scenario())
    assert checks == [0] * 20
    assert after_one == 0
    assert after_two > 0


def test_with_redis_down_the_process_counts_on_its_own():
    async def scenario():
        url = f"redis://127.0.0.1:{free_port()}/0"
        async with limiters(url, limit=2, window_s=60) as (down,):
            waits = []
            for _ in range(3):
                waits.append(await down.retry_after_s("a"))
                await down.record_failure("a")
            return waits

    waits = asyncio.run(scenario())
    assert waits[:2] == [0, 0]
    assert waits[2] > 0
