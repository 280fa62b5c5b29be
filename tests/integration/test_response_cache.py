"""RedisResponseCache against a real Redis: hits, TTLs, single flight across workers, fail-open."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from chat_service.adapters.redis.client import connect_redis
from chat_service.adapters.redis.response_cache import RedisResponseCache
from chat_service.core.availability import RedisAvailability
from chat_service.core.cache.stats import CacheCounters, CacheCounts, CacheOutcome
from chat_service.ports.response_cache import Computed
from devstack.process import free_port


@pytest.fixture
def client(any_redis_url):
    with connect_redis(any_redis_url, timeout_s=2) as connection:
        yield connection


def make_cache(url: str, counters: CacheCounters | None = None) -> RedisResponseCache:
    """A cache with its own connection pool, as each worker process has."""
    return RedisResponseCache(
        connect_redis(url, timeout_s=2),
        availability=RedisAvailability(),
        observer=counters or CacheCounters(),
        compute_timeout_s=10,
    )


@pytest.fixture
def key():
    # Tagged as the cache's own keys are: the value and its lock share a cluster slot.
    return f"test:cache:{{{uuid.uuid4().hex}}}"


def test_a_miss_computes_and_stores_with_the_ttl_then_hits(any_redis_url, client, key):
    counters = CacheCounters()
    cache = make_cache(any_redis_url, counters)
    calls = []

    def compute():
        calls.append(1)
        return Computed("value", ttl_s=60)

    first = cache.get_or_compute(key, kind="reply", compute=compute)
    second = cache.get_or_compute(key, kind="reply", compute=compute)

    assert (first.value, first.outcome) == ("value", CacheOutcome.MISS)
    assert (second.value, second.outcome) == ("value", CacheOutcome.HIT)
    assert len(calls) == 1
    assert 0 < client.pttl(key) <= 60_000
    assert client.exists(f"{key}:lock") == 0
    assert counters.snapshot() == {"reply": CacheCounts(hits=1, misses=1)}


def test_an_uncacheable_result_is_not_stored(any_redis_url, client, key):
    cache = make_cache(any_redis_url)
    results = iter(["one", "two"])

    def compute():
        return Computed(next(results), ttl_s=None)

    assert cache.get_or_compute(key, kind="reply", compute=compute).value == "one"
    assert cache.get_or_compute(key, kind="reply", compute=compute).value == "two"
    assert client.exists(key) == 0


def test_twenty_concurrent_misses_in_two_workers_compute_once(any_redis_url, key):
    counters = CacheCounters()
    workers = [make_cache(any_redis_url, counters), make_cache(any_redis_url, counters)]
    calls = []
    arrived = threading.Semaphore(0)
    everyone_in = threading.Event()

    def compute():
        calls.append(1)
        everyone_in.wait(10)  # keeps the computation going while the others look up the key
        return Computed("shared", ttl_s=60)

    def request(i: int):
        arrived.release()
        return workers[i % 2].get_or_compute(key, kind="reply", compute=compute)

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(request, i) for i in range(20)]
        for _ in range(20):
            arrived.acquire()
        threading.Timer(0.3, everyone_in.set).start()
        results = [f.result(timeout=30) for f in futures]

    assert len(calls) == 1
    assert {r.value for r in results} == {"shared"}
    counts = counters.snapshot()["reply"]
    assert counts.misses == 1
    assert counts.hits + counts.coalesced == 19


def test_a_failed_computation_is_taken_over_by_a_waiting_worker(any_redis_url, key):
    leader, other = make_cache(any_redis_url), make_cache(any_redis_url)
    leader_running = threading.Event()
    release_leader = threading.Event()
    calls = []

    def failing():
        calls.append("leader")
        leader_running.set()
        release_leader.wait(10)
        raise RuntimeError("provider down")

    def working():
        calls.append("other")
        return Computed("recovered", ttl_s=60)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(leader.get_or_compute, key, kind="reply", compute=failing)
        assert leader_running.wait(10)
        second = pool.submit(other.get_or_compute, key, kind="reply", compute=working)
        release_leader.set()
        with pytest.raises(RuntimeError, match="provider down"):
            first.result(timeout=30)
        assert second.result(timeout=30).value == "recovered"
    assert calls == ["leader", "other"]


def test_waiters_compute_their_own_when_the_result_is_uncacheable(any_redis_url, key):
    leader, other = make_cache(any_redis_url), make_cache(any_redis_url)
    leader_running = threading.Event()
    release_leader = threading.Event()

    def volatile():
        leader_running.set()
        release_leader.wait(10)
        return Computed("now: 12:00", ttl_s=None)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(leader.get_or_compute, key, kind="reply", compute=volatile)
        assert leader_running.wait(10)
        second = pool.submit(
            other.get_or_compute, key, kind="reply", compute=lambda: Computed("now: 12:01", None)
        )
        release_leader.set()
        assert first.result(timeout=30).value == "now: 12:00"
        assert second.result(timeout=30).value == "now: 12:01"


def test_with_redis_down_every_lookup_computes_and_counts_as_bypassed(key):
    counters = CacheCounters()
    cache = make_cache(f"redis://127.0.0.1:{free_port()}/0", counters)
    values = iter(["a", "b"])

    def compute():
        return Computed(next(values), ttl_s=60)

    assert cache.get_or_compute(key, kind="title", compute=compute).value == "a"
    assert cache.get_or_compute(key, kind="title", compute=compute).value == "b"
    assert counters.snapshot() == {"title": CacheCounts(bypassed=2)}
