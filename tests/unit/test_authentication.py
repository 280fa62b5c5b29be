"""Authenticator: owners from keys, open mode, caching, constant-time comparison."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import pytest

from chat_service.core.api_keys import key_digest, key_id, new_api_key
from chat_service.core.authentication import ANONYMOUS, UNKNOWN, Authenticator, StaticKey
from chat_service.core.errors import StorageUnavailable
from tests.fakes.memory_api_keys import MemoryApiKeyStore

NOW = datetime(2025, 6, 1, tzinfo=UTC)
ENV_KEY = "acai_static-env-key-0000000000"


@pytest.fixture
def store():
    return MemoryApiKeyStore()


def _authenticator(store, clock, **kwargs):
    return Authenticator(store, cache_ttl_s=30, clock=clock.monotonic, **kwargs)


def test_keys_look_random_and_only_their_digest_is_kept(store):
    key = new_api_key()
    assert key.startswith("acai_")
    assert len(key) == 48
    assert new_api_key() != key
    record = store.add(digest=key_digest(key), owner="alice", name="", now=NOW)
    assert record.key_id == key_digest(key)[:12] == key_id(key_digest(key))
    assert key not in repr(record)


def test_without_any_key_the_service_is_open_to_callers_without_a_key(store, clock):
    auth = _authenticator(store, clock)
    assert auth.is_open()
    assert auth.authenticate(None) == ANONYMOUS
    assert auth.cached(None) == ANONYMOUS
    assert auth.authenticate("whatever") is None  # a key that does not exist is refused
    assert auth.cached("whatever") is None


def test_an_open_service_warns_once(store, clock, caplog):
    auth = _authenticator(store, clock)
    for _ in range(3):
        assert auth.is_open()
        clock.advance(31)
    warnings = [r for r in caplog.records if "SECURITY WARNING" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelname == "WARNING"


def test_revoking_the_last_key_leaves_the_service_closed(store, clock):
    key = new_api_key()
    record = store.add(digest=key_digest(key), owner="alice", name="", now=NOW)
    auth = _authenticator(store, clock)
    assert auth.authenticate(key) == "alice"
    store.revoke(record.key_id, now=NOW)
    clock.advance(31)
    assert auth.authenticate(key) is None
    assert auth.authenticate(None) is None
    assert not auth.is_open()
    fresh = _authenticator(store, clock)  # a restarted service
    assert not fresh.is_open()
    assert fresh.authenticate(None) is None


def test_a_valid_key_closes_an_open_service_at_once(store, clock):
    auth = _authenticator(store, clock)
    assert auth.authenticate(None) == ANONYMOUS
    key = new_api_key()
    store.add(digest=key_digest(key), owner="alice", name="", now=NOW)
    assert auth.authenticate(key) == "alice"
    assert auth.cached(None) is None  # no need to wait for the cached "open" to expire


def test_require_key_closes_the_service_even_without_keys(store, clock):
    auth = _authenticator(store, clock, require_key=True)
    assert not auth.is_open()
    assert auth.authenticate(None) is None
    assert auth.authenticate(ENV_KEY) is None


def test_the_static_key_maps_to_its_owner(store, clock):
    auth = _authenticator(store, clock, static_key=StaticKey(key_digest(ENV_KEY), "default"))
    assert auth.authenticate(ENV_KEY) == "default"
    assert auth.authenticate(ENV_KEY + "x") is None
    assert auth.authenticate(None) is None


def test_stored_keys_map_to_their_owners_until_revoked(store, clock):
    alice, bob = new_api_key(), new_api_key()
    store.add(digest=key_digest(alice), owner="alice", name="laptop", now=NOW)
    record = store.add(digest=key_digest(bob), owner="bob", name="", now=NOW)
    auth = _authenticator(store, clock)
    assert (auth.authenticate(alice), auth.authenticate(bob)) == ("alice", "bob")
    assert auth.authenticate("acai_not-a-real-key-1234567890") is None

    store.revoke(record.key_id, now=NOW)
    assert auth.cached(bob) == "bob"  # revocation reaches the cache within the TTL
    clock.advance(31)
    assert auth.cached(bob) is UNKNOWN
    assert auth.authenticate(bob) is None
    assert auth.cached(bob) is None


def test_cached_answers_never_touch_the_store(store, clock):
    key = new_api_key()
    store.add(digest=key_digest(key), owner="alice", name="", now=NOW)
    auth = _authenticator(store, clock)
    assert auth.cached(key) is UNKNOWN
    assert auth.authenticate(key) == "alice"
    lookups = store.lookups
    store.unavailable = True
    assert auth.cached(key) == "alice"
    assert auth.cached(None) is None
    assert auth.cached("acai_some-other-key-123456789") is UNKNOWN
    assert store.lookups == lookups
    clock.advance(31)
    assert auth.cached(key) is UNKNOWN
    with pytest.raises(StorageUnavailable):
        auth.authenticate(key)


def test_the_first_key_created_closes_an_open_service_within_the_ttl(store, clock):
    auth = _authenticator(store, clock)
    assert auth.authenticate(None) == ANONYMOUS
    store.add(digest=key_digest(new_api_key()), owner="alice", name="", now=NOW)
    clock.advance(31)
    assert auth.authenticate(None) is None


def test_keys_are_compared_as_digests_in_constant_time(store, clock, monkeypatch):
    calls = []
    original = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # what authentication.py calls
    auth = _authenticator(store, clock, static_key=StaticKey(key_digest(ENV_KEY), "default"))
    assert auth.authenticate(ENV_KEY) == "default"
    assert auth.authenticate("acai_wrong-key-000000000000000") is None
    assert calls
    assert all(len(a) == len(b) == 64 for a, b in calls)  # digests, never the keys
    assert ENV_KEY not in {a for a, _ in calls} | {b for _, b in calls}
