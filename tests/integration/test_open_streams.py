"""Open streams per owner, counted in Redis across workers, per process while Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from chat_service.adapters.redis.client import connect_redis_async, read_slot_map
from chat_service.adapters.redis.stream_slots import RedisStreamSlots
from chat_service.core.availability import RedisAvailability
from chat_service.edge.streams.open_streams import OpenStreams
from devstack.process import free_port


async def _hold(streams: OpenStreams, owner: str, stack: contextlib.AsyncExitStack):
    return await stack.enter_async_context(streams.hold(owner))


def test_the_limit_holds_across_workers_and_frees_with_release_or_expiry(any_redis_url):
    async def main() -> None:
        client = connect_redis_async(any_redis_url, timeout_s=2)
        await read_slot_map(client)  # as the app does at start-up
        prefix = f"test:{uuid.uuid4().hex}:"
        slots = RedisStreamSlots(client, prefix=prefix)
        # Two workers: their own OpenStreams, one Redis.
        one, two = (
            OpenStreams(slots, limit=2, availability=RedisAvailability(), lease_s=0.3)
            for _ in range(2)
        )
        async with contextlib.AsyncExitStack() as stack:
            assert await _hold(one, "alice", stack) is None
            assert await _hold(two, "alice", stack) is None
            refusal = await _hold(two, "alice", stack)
            assert refusal is not None
            assert (refusal.code, refusal.meta["max_streams"]) == ("resource_exhausted", "2")
            assert await _hold(one, "bob", stack) is None  # owners apart
            await asyncio.sleep(0.5)  # held streams renew their leases
            assert await _hold(one, "alice", stack) is not None
        async with one.hold("alice") as refusal:
            assert refusal is None  # released
        # A worker that died leaves leases that expire.
        for slot in ("dead-1", "dead-2"):
            assert await slots.acquire("carol", slot, limit=2, lease_s=0.2)
        async with one.hold("carol") as refusal:
            assert refusal is not None
        await asyncio.sleep(0.3)
        async with one.hold("carol") as refusal:
            assert refusal is None
        await client.aclose()

    asyncio.run(main())


def test_without_redis_each_process_counts_its_own():
    async def main() -> None:
        client = connect_redis_async(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
        streams = OpenStreams(RedisStreamSlots(client), limit=1, availability=RedisAvailability())
        async with streams.hold("alice") as first:
            assert first is None
            async with streams.hold("alice") as second:
                assert second is not None
        async with streams.hold("alice") as again:
            assert again is None
        await client.aclose()

    asyncio.run(main())
