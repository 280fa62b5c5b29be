"""The LockBackend contract against Redis, MongoDB and the in-memory fake; failover between them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.turn_lock import MongoLockBackend
from chat_service.adapters.redis.turn_lock import RedisLockBackend
from chat_service.core.availability import RedisAvailability
from chat_service.core.errors import TurnBusy
from chat_service.core.turn_lock import TurnLock
from devstack.process import free_port
from migrations import apply_all
from tests.fakes.memory_lock import InMemoryLockBackend


class Clock:
    """Wall time for MongoDB, monotonic seconds for the fake; moved by the tests."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, tzinfo=UTC)

    def wall(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    database = client[mongo_database_name]
    apply_all(database)
    yield database
    client.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(params=["redis", "mongo", "memory"])
def backend(request, clock):
    if request.param == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        yield RedisLockBackend(client, prefix=f"test:{uuid.uuid4().hex}:")
        client.close()
    elif request.param == "mongo":
        yield MongoLockBackend(request.getfixturevalue("database"), clock=clock.wall)
    else:
        yield InMemoryLockBackend(clock.seconds)


def test_a_lease_is_exclusive_until_released(backend):
    assert backend.try_acquire("k", "a", ttl_s=30)
    assert not backend.try_acquire("k", "b", ttl_s=30)
    backend.release("k", "b")  # not the holder: no effect
    assert not backend.try_acquire("k", "b", ttl_s=30)
    backend.release("k", "a")
    assert backend.try_acquire("k", "b", ttl_s=30)
    assert backend.try_acquire("other", "a", ttl_s=30)


def test_renew_keeps_the_lease_and_refuses_another_holder(backend):
    assert backend.try_acquire("k", "a", ttl_s=30)
    assert backend.renew("k", "a", ttl_s=30)
    assert not backend.renew("k", "b", ttl_s=30)
    assert not backend.try_acquire("k", "b", ttl_s=30)


def test_renew_takes_back_a_lease_that_vanished(backend):
    assert backend.renew("k", "a", ttl_s=30)  # as after a restart that lost the lease
    assert not backend.try_acquire("k", "b", ttl_s=30)


@pytest.mark.parametrize("backend", ["mongo", "memory"], indirect=True)
def test_an_expired_lease_can_be_taken(backend, clock):
    assert backend.try_acquire("k", "a", ttl_s=1)
    clock.advance(2)
    assert backend.try_acquire("k", "b", ttl_s=1)
    assert not backend.renew("k", "a", ttl_s=1)


def test_an_expired_redis_lease_can_be_taken(redis_url):
    client = redis.Redis.from_url(redis_url)
    backend = RedisLockBackend(client, prefix=f"test:{uuid.uuid4().hex}:")
    assert backend.try_acquire("k", "a", ttl_s=0.05)
    client.close()
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while not backend.try_acquire("k", "b", ttl_s=30):
        assert datetime.now(UTC) < deadline


def test_with_redis_unreachable_two_workers_still_exclude_each_other_through_mongodb(database):
    def worker() -> TurnLock:
        dead_redis = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
        return TurnLock(
            RedisLockBackend(dead_redis),
            MongoLockBackend(database, clock=lambda: datetime.now(UTC)),
            availability=RedisAvailability(),
            wait_s=0.05,
        )

    first, second = worker(), worker()
    with first.hold("conversation:x") as lease:
        assert isinstance(lease.backend, MongoLockBackend)
        with pytest.raises(TurnBusy), second.hold("conversation:x"):
            pass
    with second.hold("conversation:x"):
        pass
    assert database.turn_locks.count_documents({}) == 0
    first.close()
    second.close()
