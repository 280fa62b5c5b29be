"""A turn's Redis commands that need no round trip of their own travel with its lease's: the
owner's cache generation is read with the lease, and the reply's cache write leaves with the
lease's release (one server); on a Redis Cluster each command goes alone, as before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import redis

from chat_service.adapters.redis.cache_generations import RedisCacheGenerations, generation_key
from chat_service.adapters.redis.client import connect_redis
from chat_service.adapters.redis.response_cache import RedisResponseCache
from chat_service.adapters.redis.turn_lock import RedisLockBackend
from chat_service.adapters.redis.turn_round_trips import TurnRoundTrips
from chat_service.core.availability import RedisAvailability
from chat_service.core.cache.stats import CacheOutcome
from chat_service.ports.response_cache import Computed

OWNER = "alice"


class _Counting(redis.Connection):
    """Counts what the server is sent: one count per send (a pipeline is one)."""

    sends: ClassVar[list[int]] = []

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        _Counting.sends.append(1)
        super().send_packed_command(command, check_health)


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    _Counting.sends = []
    client = connect_redis(redis_url, timeout_s=2.0, connection_class=_Counting)
    yield client
    client.close()


@pytest.fixture
def plain(redis_url: str) -> Iterator[Any]:
    """A client of its own, to look at what was written without counting it."""
    client = connect_redis(redis_url, timeout_s=2.0)
    yield client
    client.close()


def _parts(client: Any, prefix: str) -> tuple[TurnRoundTrips, RedisLockBackend, Any, Any]:
    trips = TurnRoundTrips(lambda: generation_key(OWNER))
    availability = RedisAvailability()
    lock = RedisLockBackend(client, prefix=prefix, round_trips=trips)
    generations = RedisCacheGenerations(client, availability=availability, round_trips=trips)
    cache = RedisResponseCache(
        client, availability=availability, observer=_NoObserver(), round_trips=trips
    )
    return trips, lock, generations, cache


class _NoObserver:
    def record(self, kind: str, outcome: CacheOutcome) -> None:
        pass


def test_a_turn_costs_one_round_trip_for_lease_and_generation_and_one_for_write_and_release(
    client: Any, plain: Any
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    _, lock, generations, cache = _parts(client, prefix)
    plain.set(generation_key(OWNER), 7)
    key = f"test:{{{uuid.uuid4().hex}}}"
    # A turn before: the server knows the scripts from then on.
    assert lock.try_acquire("conversation:c", "before", ttl_s=15)
    generations.current(OWNER)
    cache.get_or_compute(key, kind="reply", compute=lambda: Computed("warm", ttl_s=60))
    lock.release("conversation:c", "before")
    _Counting.sends.clear()

    assert lock.try_acquire("conversation:c", "holder", ttl_s=15)
    assert generations.current(OWNER) == 7  # read with the lease
    assert len(_Counting.sends) == 1
    answer = cache.get_or_compute(
        key + "x", kind="reply", compute=lambda: Computed("the answer", ttl_s=60)
    )
    assert answer.value == "the answer"
    assert len(_Counting.sends) == 2  # the lookup; the write waits for the release
    assert plain.get(key + "x") is None
    lock.release("conversation:c", "holder")

    assert len(_Counting.sends) == 3
    assert plain.get(key + "x") == b"the answer"
    assert plain.get(f"{key}x:lock") is None  # the single-flight lock went with it
    assert plain.get(prefix + "conversation:c") is None
    assert generations.current(OWNER) == 7  # no lease: read on its own
    assert len(_Counting.sends) == 4


def test_without_a_lease_the_write_goes_at_once(client: Any) -> None:
    _, _, _, cache = _parts(client, f"test:{uuid.uuid4().hex}:")
    key = f"test:{{{uuid.uuid4().hex}}}"

    cache.get_or_compute(key, kind="reply", compute=lambda: Computed("now", ttl_s=60))

    assert client.get(key) == b"now"


def test_a_busy_lease_reads_nothing_along_and_defers_nothing(client: Any) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    trips, lock, _, _ = _parts(client, prefix)
    assert lock.try_acquire("conversation:c", "first", ttl_s=15)
    trips.releasing()  # as if another thread held it

    assert not lock.try_acquire("conversation:c", "second", ttl_s=15)
    assert trips.take_read(generation_key(OWNER)) == (False, None)


def test_a_release_after_the_scripts_were_flushed_still_writes_and_releases(client: Any) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    _, lock, _, cache = _parts(client, prefix)
    key = f"test:{{{uuid.uuid4().hex}}}"
    assert lock.try_acquire("conversation:c", "holder", ttl_s=15)
    cache.get_or_compute(key, kind="reply", compute=lambda: Computed("kept", ttl_s=60))
    client.script_flush()  # a restarted server knows no script

    lock.release("conversation:c", "holder")

    assert client.get(key) == b"kept"
    assert client.get(prefix + "conversation:c") is None


def test_a_cluster_sends_each_command_alone(redis_cluster_url: str) -> None:
    client = connect_redis(redis_cluster_url, timeout_s=2.0)
    try:
        _, lock, generations, cache = _parts(client, f"test:{uuid.uuid4().hex}:")
        key = f"test:{{{uuid.uuid4().hex}}}"
        assert lock.try_acquire("conversation:{c}", "holder", ttl_s=15)
        cache.get_or_compute(key, kind="reply", compute=lambda: Computed("alone", ttl_s=60))
        assert client.get(key) == b"alone"  # written at once, not held for the release
        assert generations.current(OWNER) == 0
        lock.release("conversation:{c}", "holder")
    finally:
        client.close()
