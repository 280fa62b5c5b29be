"""The LockBackend contract against Redis, MongoDB and the in-memory fake; failover between them."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.turn_lock import MongoLockBackend
from chat_service.adapters.redis.client import connect_redis
from chat_service.adapters.redis.turn_lock import RedisLockBackend
from chat_service.core.availability import RedisAvailability
from chat_service.core.errors import TurnBusy, TurnConflict
from chat_service.core.turn_lock import TurnLock
from devstack.process import free_port
from migrations import apply_all
from tests.fakes.memory_lock import InMemoryLockBackend


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    database = client[mongo_database_name]
    apply_all(database)
    yield database
    client.close()


@pytest.fixture(
    params=["redis", pytest.param("redis-cluster", marks=pytest.mark.cluster), "mongo", "memory"]
)
def backend(request, clock):
    if request.param.startswith("redis"):
        url = request.getfixturevalue(
            "redis_url" if request.param == "redis" else "redis_cluster_url"
        )
        client = connect_redis(url, timeout_s=2)
        yield RedisLockBackend(client, prefix=f"test:{uuid.uuid4().hex}:")
        client.close()
    elif request.param == "mongo":
        yield MongoLockBackend(request.getfixturevalue("database"), clock=clock.wall)
    else:
        yield InMemoryLockBackend(clock.monotonic)


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


def test_renew_after_release_does_not_take_the_lease_back(backend):
    assert backend.try_acquire("k", "a", ttl_s=30)
    backend.release("k", "a")
    assert not backend.renew("k", "a", ttl_s=30)
    assert backend.try_acquire("k", "b", ttl_s=30)


@pytest.mark.parametrize("backend", ["mongo", "memory"], indirect=True)
def test_an_expired_lease_can_be_taken(backend, clock):
    assert backend.try_acquire("k", "a", ttl_s=1)
    clock.advance(2)
    assert backend.try_acquire("k", "b", ttl_s=1)
    assert not backend.renew("k", "a", ttl_s=1)


def test_an_expired_redis_lease_can_be_taken(any_redis_url):
    client = connect_redis(any_redis_url, timeout_s=2)
    backend = RedisLockBackend(client, prefix=f"test:{uuid.uuid4().hex}:")
    assert backend.try_acquire("k", "a", ttl_s=0.05)
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while not backend.try_acquire("k", "b", ttl_s=30):
        assert datetime.now(UTC) < deadline
    client.close()


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


class GatedRenewals:
    """Passes every call to `backend`; a renewal waits at the gate until the test opens it."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.waiting = threading.Event()
        self.gate = threading.Event()
        self._renewed = threading.Condition()
        self._renewals = 0

    def try_acquire(self, key, holder, *, ttl_s):
        return self.backend.try_acquire(key, holder, ttl_s=ttl_s)

    def renew(self, key, holder, *, ttl_s):
        self.waiting.set()
        assert self.gate.wait(10), "the test never opened the gate"
        try:
            return self.backend.renew(key, holder, ttl_s=ttl_s)
        finally:
            with self._renewed:
                self._renewals += 1
                self._renewed.notify_all()

    def release(self, key, holder):
        self.backend.release(key, holder)

    def wait_renewals(self, count: int) -> bool:
        """Waits until `count` renewals returned (the keeper renews one lease at a time)."""
        with self._renewed:
            return self._renewed.wait_for(lambda: self._renewals >= count, timeout=5)


def worker(backend, *, ttl_s: float = 1.5) -> TurnLock:
    """A TurnLock over `backend`; its keeper renews every `ttl_s / 3`."""
    return TurnLock(
        backend, InMemoryLockBackend(), availability=RedisAvailability(), ttl_s=ttl_s, wait_s=0
    )


def test_a_lease_released_while_the_keeper_renews_it_stays_free(backend, caplog):
    gated = GatedRenewals(backend)
    first, second = worker(gated), worker(backend)
    with first.hold("conversation:x") as lease:
        assert gated.waiting.wait(5), "the keeper took its snapshot and is renewing the lease"
    gated.gate.set()  # the turn has released its lease: the renewal arrives late
    assert gated.wait_renewals(1)
    first.close()

    with second.hold("conversation:x"):  # the next turn does not wait out a resurrected lease
        pass
    assert not lease.lost.is_set()
    assert "lost a turn lease" not in caplog.text
    second.close()


def test_a_late_renewal_after_the_next_turn_took_the_lease_is_not_a_loss(backend, caplog):
    gated = GatedRenewals(backend)
    first, second = worker(gated), worker(backend)
    with first.hold("conversation:x") as lease:
        assert gated.waiting.wait(5)
    with second.hold("conversation:x") as next_lease:
        gated.gate.set()
        assert gated.wait_renewals(1)
        assert not backend.try_acquire("conversation:x", "third", ttl_s=30)
        next_lease.check()
    assert not lease.lost.is_set()
    assert "lost a turn lease" not in caplog.text
    first.close()
    second.close()


def test_a_held_lease_that_vanished_is_taken_again(backend):
    gated = GatedRenewals(backend)
    lock = worker(gated)
    with lock.hold("conversation:x") as lease:
        assert gated.waiting.wait(5)
        backend.release("conversation:x", lease.holder)  # as after a restart that lost it
        gated.gate.set()
        assert gated.wait_renewals(2), "the keeper's next round: the first one has finished"
        lock.close()
        assert not backend.try_acquire("conversation:x", "other", ttl_s=30)
        lease.check()
    assert backend.try_acquire("conversation:x", "other", ttl_s=30)  # released on leaving


def test_a_held_lease_another_holder_took_is_lost(backend, caplog):
    gated = GatedRenewals(backend)
    lock = worker(gated)
    with lock.hold("conversation:x") as lease:
        assert gated.waiting.wait(5)
        backend.release("conversation:x", lease.holder)  # expired, then taken over
        assert backend.try_acquire("conversation:x", "intruder", ttl_s=30)
        caplog.set_level(logging.WARNING)
        gated.gate.set()
        assert lease.lost.wait(5)
        with pytest.raises(TurnConflict):
            lease.check()
    assert "lost a turn lease" in caplog.text
    assert not backend.try_acquire("conversation:x", "other", ttl_s=30)  # still the intruder's
    lock.close()
