"""TurnLock over in-memory backends: exclusion, bounded waits, failover, lost leases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chat_service.core.availability import RedisAvailability
from chat_service.core.errors import StorageUnavailable, TurnBusy, TurnConflict
from chat_service.core.turn_lock import TurnLock
from tests.fakes.memory_lock import InMemoryLockBackend


@pytest.fixture
def primary():
    return InMemoryLockBackend()


@pytest.fixture
def fallback():
    return InMemoryLockBackend()


def make_lock(primary, fallback, **options) -> TurnLock:
    options = {"ttl_s": 5.0, "wait_s": 5.0, **options}
    return TurnLock(primary, fallback, availability=RedisAvailability(), **options)


def test_one_holder_at_a_time_and_waiters_go_next(primary, fallback):
    lock = make_lock(primary, fallback)
    inside = 0
    most_inside = 0
    guard = threading.Lock()

    def turn(i: int) -> int:
        nonlocal inside, most_inside
        with lock.hold("conversation:1"):
            with guard:
                inside += 1
                most_inside = max(most_inside, inside)
            with guard:
                inside -= 1
        return i

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert sorted(pool.map(turn, range(64))) == list(range(64))
    assert most_inside == 1
    assert primary.holder_of("conversation:1") is None  # released
    lock.close()


def test_a_turn_waits_a_bounded_time_then_is_busy(primary, fallback):
    lock = make_lock(primary, fallback, wait_s=0.05)
    with lock.hold("k"), pytest.raises(TurnBusy):  # noqa: SIM117
        with lock.hold("k"):
            pass
    with lock.hold("k"):  # free again after the first block
        pass
    lock.close()


def test_other_keys_do_not_wait(primary, fallback):
    lock = make_lock(primary, fallback, wait_s=0)
    with lock.hold("a"), lock.hold("b"):
        pass
    lock.close()


def test_while_the_primary_is_down_the_fallback_holds_leases(primary, fallback):
    primary.unavailable = True
    lock = make_lock(primary, fallback, wait_s=0)
    with lock.hold("k") as lease:
        assert fallback.holder_of("k") == lease.holder
        assert lease.backend is fallback
        with pytest.raises(TurnBusy), lock.hold("k"):
            pass
    primary.unavailable = False
    lock = make_lock(primary, fallback)
    with lock.hold("k") as lease:
        assert lease.backend is primary


def test_with_both_down_the_turn_is_unavailable(primary, fallback):
    primary.unavailable = fallback.unavailable = True
    with pytest.raises(StorageUnavailable), make_lock(primary, fallback).hold("k"):
        pass


def test_a_lease_taken_over_by_another_holder_is_lost(primary, fallback):
    lock = make_lock(primary, fallback, ttl_s=0.06)
    with lock.hold("k") as lease:
        lease.check()
        primary._leases["k"] = ("intruder", primary.clock() + 60)
        assert lease.lost.wait(5), "the keeper renews within a third of the TTL"
        with pytest.raises(TurnConflict):
            lease.check()
    lock.close()


def test_an_unreachable_store_does_not_lose_the_lease(primary, fallback):
    lock = make_lock(primary, fallback, ttl_s=0.06)
    with lock.hold("k") as lease:
        primary.unavailable = True
        renewed = threading.Event()
        original = primary.renew

        def renew(*args, **kwargs):
            renewed.set()
            return original(*args, **kwargs)

        primary.renew = renew
        assert renewed.wait(5)
        primary.unavailable = False
        lease.check()  # not lost: the store's fencing decides at commit time
    lock.close()


def test_a_release_waits_out_a_take_back_in_flight_then_frees_the_lease(primary, fallback):
    lock = make_lock(primary, fallback, ttl_s=0.06)
    taking_back, gate = threading.Event(), threading.Event()
    original = primary.try_acquire

    def try_acquire(*args, **kwargs):
        if lock_held.is_set():  # the keeper's, after the lease vanished
            taking_back.set()
            assert gate.wait(5)
        return original(*args, **kwargs)

    primary.try_acquire = try_acquire
    lock_held, leave = threading.Event(), threading.Event()

    def turn() -> None:
        with lock.hold("k"):
            del primary._leases["k"]  # as after a restart that lost it
            lock_held.set()
            assert leave.wait(5)

    thread = threading.Thread(target=turn)
    thread.start()
    assert taking_back.wait(5)
    leave.set()
    thread.join(0.2)
    assert thread.is_alive(), "the release waits for the take-back"
    gate.set()
    thread.join(5)
    assert primary.holder_of("k") is None  # taken back, then released: not left behind
    lock.close()
