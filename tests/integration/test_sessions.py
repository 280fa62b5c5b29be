"""Sessions over the real Mongo-protocol server (the truth) and Redis (the fast path)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.sessions import MongoSessionStore
from chat_service.adapters.redis.client import connect_redis
from chat_service.adapters.redis.session_cache import RedisSessionCache
from chat_service.core.availability import RedisAvailability
from chat_service.core.sessions import Sessions
from chat_service.ports.sessions import Session, SessionKey
from devstack.process import free_port
from migrations import apply_all
from tests.fakes.memory_sessions import InMemorySessionStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=30)


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    database = client[mongo_database_name]
    apply_all(database)
    yield database
    client.close()


@pytest.fixture(params=["memory", "mongo"])
def store(request):
    if request.param == "memory":
        return InMemorySessionStore()
    return MongoSessionStore(request.getfixturevalue("database"))


@pytest.fixture
def key():
    return SessionKey("owner", "telegram", f"chat-{uuid.uuid4().hex[:8]}", "")


@pytest.fixture
def redis_client(any_redis_url):
    with connect_redis(any_redis_url, timeout_s=2) as client:
        yield client


def test_store_contract_put_get_touch_delete(store, key):
    assert store.get(key) is None
    session = Session("s1", "c" * 24, T0)
    store.put(key, session, expires_at=T0 + TTL)
    assert store.get(key) == session

    later = T0 + timedelta(minutes=5)
    assert store.touch(key, "s1", now=later, expires_at=later + TTL)
    assert store.get(key) == Session("s1", "c" * 24, later)
    assert not store.touch(key, "another-session", now=later, expires_at=later + TTL)

    store.put(key, Session("s2", "d" * 24, later), expires_at=later + TTL)
    assert store.get(key).id == "s2"
    assert store.delete(key).id == "s2"
    assert store.delete(key) is None
    assert store.get(key) is None


def test_a_session_resumes_after_redis_is_flushed(database, redis_client, any_redis_url, key):
    sessions = Sessions(
        MongoSessionStore(database),
        RedisSessionCache(
            connect_redis(any_redis_url, timeout_s=2), availability=RedisAvailability()
        ),
        ttl=TTL,
    )
    started = sessions.start(key, "a" * 24, now=T0)
    assert redis_client.pttl(f"acai:session:v1:{key.id}") > 0

    redis_client.flushdb()

    found = sessions.find(key, now=T0 + timedelta(minutes=10))
    assert found == started
    assert redis_client.exists(f"acai:session:v1:{key.id}")  # put back on the fast path


def test_expiry_follows_the_last_turn(database, any_redis_url, key):
    sessions = Sessions(
        MongoSessionStore(database),
        RedisSessionCache(
            connect_redis(any_redis_url, timeout_s=2), availability=RedisAvailability()
        ),
        ttl=TTL,
    )
    session = sessions.start(key, "a" * 24, now=T0)
    turn = T0 + TTL - timedelta(seconds=1)
    assert sessions.find(key, now=turn) == session
    sessions.touch(key, session, now=turn)
    assert sessions.find(key, now=turn + TTL - timedelta(seconds=1)) is not None
    assert sessions.find(key, now=turn + TTL) is None


def test_with_redis_down_sessions_go_through_the_store(database, key):
    store = MongoSessionStore(database)
    down = Sessions(
        store,
        RedisSessionCache(
            redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0"),
            availability=RedisAvailability(),
        ),
        ttl=TTL,
    )
    session = down.start(key, "b" * 24, now=T0)
    assert down.find(key, now=T0 + timedelta(minutes=1)) == session
    down.touch(key, session, now=T0 + timedelta(minutes=2))
    assert store.get(key) == Session(session.id, session.conversation_id, T0 + timedelta(minutes=2))
    assert down.end(key, now=T0 + timedelta(minutes=3)) is not None
    assert store.get(key) is None


def test_a_session_ended_while_redis_was_unreachable_is_dropped_after_one_turn(
    database, any_redis_url, key
):
    store = MongoSessionStore(database)
    up = Sessions(
        store,
        RedisSessionCache(
            connect_redis(any_redis_url, timeout_s=2), availability=RedisAvailability()
        ),
        ttl=TTL,
    )
    stale = up.start(key, "c" * 24, now=T0)
    store.delete(key)  # ended through a worker that could not reach Redis

    assert up.find(key, now=T0) == stale  # Redis still has it
    up.touch(key, stale, now=T0)  # the store says it is over: Redis forgets it
    assert up.find(key, now=T0) is None
