"""The TurnEventLog contract against Redis and the in-memory fake; Redis's bound and expiry; the
TurnRecords contract against MongoDB and the fake."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis

from chat_service.adapters.memory.turn_events import MemoryTurnEventLog, MemoryTurnRecords
from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.turn_records import MongoTurnRecords
from chat_service.adapters.redis.client import connect_redis
from chat_service.adapters.redis.turn_events import RedisTurnEventLog
from chat_service.core.turn_events import (
    TextDelta,
    TurnCompleted,
    TurnEvent,
    TurnStarted,
    new_turn_id,
)
from chat_service.ports.turn_events import EndedTurn, EventLogUnavailable
from devstack.process import free_port
from migrations import apply_all


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture(
    params=["redis", pytest.param("redis-cluster", marks=pytest.mark.cluster), "memory"]
)
def log(request, prefix):
    if request.param.startswith("redis"):
        name = "redis_url" if request.param == "redis" else "redis_cluster_url"
        client = connect_redis(request.getfixturevalue(name), timeout_s=2)
        log = RedisTurnEventLog(client, max_events=50, block_ms=200, prefix=prefix)
        yield log
        log.close_writer()
        client.close()
    else:
        yield MemoryTurnEventLog(max_events=50)


@pytest.fixture
def redis_logs():
    """Builds RedisTurnEventLogs and stops their writers after the test: a writer reads the
    stop flags of its open turns until then, and these tests leave turns open."""
    built: list[RedisTurnEventLog] = []

    def build(client, **options) -> RedisTurnEventLog:
        built.append(RedisTurnEventLog(client, **options))
        return built[-1]

    yield build
    for log in built:
        log.close_writer()


def _events(turn_id: str, count: int) -> list[TurnEvent]:
    first = TurnEvent(turn_id, 1, TurnStarted("a" * 24, True, ""))
    return [first, *(TurnEvent(turn_id, seq, TextDelta(f"t{seq} ")) for seq in range(2, count + 1))]


def test_events_read_back_after_any_seq_in_order(log):
    turn_id = new_turn_id()
    events = _events(turn_id, 6)
    assert log.begin(events[0], owner="alice", conversation_id="") is False
    for event in events[1:]:
        assert log.append(event) is False
    assert log.owner(turn_id) == "alice"
    for after in range(len(events) + 1):
        assert log.read_after(turn_id, after) == events[after:]
    assert log.read_after(new_turn_id(), 0) == []
    assert log.owner(new_turn_id()) is None


def test_wait_returns_events_as_they_come_and_gives_up_after_its_timeout(log):
    turn_id = new_turn_id()
    events = _events(turn_id, 3)
    log.begin(events[0], owner="alice", conversation_id="")
    assert log.wait(turn_id, 0, timeout_s=0.1) == events[:1]
    started = time.monotonic()
    assert log.wait(turn_id, 1, timeout_s=0.15) == []
    assert time.monotonic() - started >= 0.1
    timer = threading.Timer(0.05, lambda: [log.append(e) for e in events[1:]])
    timer.start()
    got = log.wait(turn_id, 1, timeout_s=2.0)
    timer.join()
    assert got
    assert got == events[1 : 1 + len(got)]


def test_a_stop_request_is_read_by_the_next_append(log):
    turn_id = new_turn_id()
    events = _events(turn_id, 3)
    assert log.begin(events[0], owner="alice", conversation_id="") is False
    log.request_stop(turn_id)
    assert log.append(events[1]) is True


def test_a_stop_asked_elsewhere_before_the_first_delta_is_read_by_that_delta(
    redis_logs, any_redis_url, prefix
):
    clients = [connect_redis(any_redis_url, timeout_s=2) for _ in range(2)]
    runner, elsewhere = (redis_logs(c, prefix=prefix) for c in clients)
    turn_id = new_turn_id()
    events = _events(turn_id, 3)
    assert runner.begin(events[0], owner="alice", conversation_id="") is False  # thinking
    elsewhere.request_stop(turn_id)
    time.sleep(0.3)  # a few of the writer's stop polls
    assert runner.append(events[1]) is True
    runner.close(turn_id, conversation_id="")
    for client in clients:
        client.close()


def test_a_conversations_running_turn_is_bound_until_its_close(log):
    turn_id, later = new_turn_id(), new_turn_id()
    conversation = uuid.uuid4().hex[:24]
    assert log.running_turn(conversation) is None
    log.begin(_events(turn_id, 1)[0], owner="alice", conversation_id=conversation)
    assert log.running_turn(conversation) == turn_id
    # The next turn took it over:
    log.begin(_events(later, 1)[0], owner="alice", conversation_id=conversation)
    log.close(turn_id, conversation_id=conversation)
    assert log.running_turn(conversation) == later
    log.close(later, conversation_id=conversation)
    assert log.running_turn(conversation) is None


def test_another_connection_resumes_after_n(redis_logs, any_redis_url, prefix):
    writer_client = connect_redis(any_redis_url, timeout_s=2)
    reader_client = connect_redis(any_redis_url, timeout_s=2)
    writer = redis_logs(writer_client, prefix=prefix)
    reader = redis_logs(reader_client, prefix=prefix, block_ms=500)
    turn_id = new_turn_id()
    events = _events(turn_id, 10)
    seen: list[TurnEvent] = []

    def follow() -> None:
        after = 3
        while after < 10:
            batch = reader.wait(turn_id, after, timeout_s=2.0)
            seen.extend(batch)
            after = batch[-1].seq if batch else after

    follower = threading.Thread(target=follow)
    follower.start()
    for event in events:
        writer.append(event)
        time.sleep(0.005)
    follower.join(timeout=10)
    assert seen == events[3:]
    writer_client.close()
    reader_client.close()


def test_the_redis_stream_is_bounded_and_expires_after_close(redis_logs, any_redis_url, prefix):
    client = connect_redis(any_redis_url, timeout_s=2)
    log = redis_logs(client, max_events=100, running_ttl_s=60, ended_ttl_s=1, prefix=prefix)
    turn_id = new_turn_id()
    first, *rest = _events(turn_id, 1000)
    log.begin(first, owner="alice", conversation_id="")
    for event in rest:
        log.append(event)
    key = f"{prefix}turn:{{{turn_id}}}:events"
    kept = log.read_after(turn_id, 0)  # (it waits for the appends written behind)
    # MAXLEN ~ trims whole nodes: about the bound, never the whole turn.
    assert 100 <= client.xlen(key) < 400
    assert 55_000 < client.pttl(key) <= 60_000
    assert [e.seq for e in kept] == list(range(1001 - len(kept), 1001))
    log.close(turn_id, conversation_id="")
    assert 0 < client.pttl(key) <= 1000
    assert 0 < client.pttl(f"{prefix}turn:{{{turn_id}}}:owner") <= 1000
    time.sleep(1.2)
    assert log.read_after(turn_id, 0) == []
    assert log.owner(turn_id) is None
    client.close()


def test_every_key_of_a_turn_shares_its_hash_slot(redis_logs, redis_url, prefix):
    client = redis.Redis.from_url(redis_url)
    log = redis_logs(client, prefix=prefix)
    turn_id = new_turn_id()
    log.begin(_events(turn_id, 1)[0], owner="alice", conversation_id="a" * 24)
    log.request_stop(turn_id)
    keys = [k.decode() for k in client.scan_iter(match=f"{prefix}*")]
    tags = [k.split("{")[1].split("}")[0] for k in keys]
    # owner, events and stop in the turn's slot; the conversation's running turn in its own
    assert sorted(tags) == sorted([turn_id, turn_id, turn_id, "a" * 24])
    client.close()


def test_a_redis_that_is_down_is_event_log_unavailable(redis_logs, prefix):
    client = connect_redis(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
    log = redis_logs(client, prefix=prefix)
    turn_id = new_turn_id()
    for call in (
        lambda: log.begin(_events(turn_id, 1)[0], owner="alice", conversation_id="a" * 24),
        lambda: log.read_after(turn_id, 0),
        lambda: log.wait(turn_id, 0, timeout_s=0.1),
        lambda: log.owner(turn_id),
        lambda: log.request_stop(turn_id),
    ):
        with pytest.raises(EventLogUnavailable):
            call()


def test_many_turns_appending_at_once_are_each_written_whole_and_in_order(
    redis_logs, any_redis_url, prefix
):
    client = connect_redis(any_redis_url, timeout_s=2)
    log = redis_logs(client, prefix=prefix)
    turns: dict[str, list[TurnEvent]] = {new_turn_id(): [] for _ in range(16)}

    def run(turn_id: str) -> None:
        first, *rest = _events(turn_id, 200)
        turns[turn_id].append(first)
        log.begin(first, owner="alice", conversation_id="")
        for event in rest:
            turns[turn_id].append(event)
            log.append(event)

    threads = [threading.Thread(target=run, args=(turn_id,)) for turn_id in turns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for turn_id, events in turns.items():
        assert log.read_after(turn_id, 0) == events
        log.close(turn_id, conversation_id="")
    client.close()


def test_appends_written_behind_that_fail_are_reported_by_the_next_call(redis_logs, prefix):
    client = connect_redis(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
    log = redis_logs(client, prefix=prefix)
    turn_id, other = new_turn_id(), new_turn_id()
    later = _events(turn_id, 3)[1:]
    assert log.append(later[0]) is False  # queued: the writer finds Redis down

    def appends_until_one_fails() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log.append(later[1])
            time.sleep(0.02)

    with pytest.raises(EventLogUnavailable):
        appends_until_one_fails()
    log.append(_events(other, 2)[1])
    with pytest.raises(EventLogUnavailable):
        log.close(other, conversation_id="")
    client.close()


@pytest.fixture(params=["mongo", "memory"])
def records(request, mongo_uri, mongo_database_name):
    if request.param == "memory":
        yield MemoryTurnRecords()
        return
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    database = client[mongo_database_name]
    apply_all(database)
    yield MongoTurnRecords(database, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    client.close()


def test_an_ended_turn_is_found_by_its_id_once_saved(records):
    turn_id = new_turn_id()
    terminal = TurnEvent(turn_id, 7, TurnCompleted("start", "a" * 24, "reply", "title", True))
    assert records.find(turn_id) is None
    records.save(EndedTurn("alice", terminal))
    records.save(EndedTurn("mallory", terminal))  # a repeat changes nothing
    assert records.find(turn_id) == EndedTurn("alice", terminal)
