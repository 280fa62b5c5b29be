"""The ApiKeyStore contract, run against the in-memory fake and MongoDB; the keys CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pymongo
import pytest

import migrations
from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.owner_settings import MongoOwnerSettingsStore
from chat_service.core.api_keys import key_digest, new_api_key
from chat_service.core.errors import StorageUnavailable
from chat_service.keys import main
from tests.fakes.memory_api_keys import MemoryApiKeyStore

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    db = client[mongo_database_name]
    migrations.apply_all(db)
    yield db
    client.close()


@pytest.fixture(params=["memory", "mongo"])
def store(request):
    if request.param == "memory":
        return MemoryApiKeyStore()
    return MongoApiKeyStore(request.getfixturevalue("database"))


def test_an_added_key_is_found_by_digest_only(store):
    assert not store.has_keys()
    key = new_api_key()
    record = store.add(digest=key_digest(key), owner="alice", name="laptop", now=NOW)
    assert (record.owner, record.name, record.revoked_at) == ("alice", "laptop", None)
    assert store.owner_of(key_digest(key)) == "alice"
    assert store.owner_of(key_digest(key + "x")) is None
    assert store.has_keys()


def test_revoked_keys_stay_listed_but_no_longer_authenticate(store):
    key = new_api_key()
    record = store.add(digest=key_digest(key), owner="bob", name="", now=NOW)
    revoked = store.revoke(record.key_id, now=NOW + timedelta(hours=1))
    assert revoked is not None
    assert revoked.revoked_at == NOW + timedelta(hours=1)
    assert store.owner_of(key_digest(key)) is None
    assert store.has_keys()  # a revoked key still counts as keys in use
    assert [r.key_id for r in store.list_keys()] == [record.key_id]
    assert store.revoke("000000000000", now=NOW) is None


def test_list_filters_by_owner_oldest_first(store):
    for minutes, owner in ((2, "alice"), (0, "bob"), (1, "alice")):
        store.add(
            digest=key_digest(new_api_key()),
            owner=owner,
            name=str(minutes),
            now=NOW + timedelta(minutes=minutes),
        )
    assert [r.name for r in store.list_keys(owner="alice")] == ["1", "2"]
    assert [r.owner for r in store.list_keys()] == ["bob", "alice", "alice"]


def test_the_key_itself_is_never_stored(database):
    key = new_api_key()
    MongoApiKeyStore(database).add(digest=key_digest(key), owner="alice", name="", now=NOW)
    (document,) = database.api_keys.find()
    assert key not in repr(document)
    assert document["_id"] == key_digest(key)


def test_an_unreachable_store_is_storage_unavailable():
    client = pymongo.MongoClient("mongodb://127.0.0.1:9", serverSelectionTimeoutMS=100)
    with client, pytest.raises(StorageUnavailable):
        MongoApiKeyStore(client["x"]).has_keys()


def test_cli_creates_lists_and_revokes(mongo_uri, mongo_database_name, database, capsys, log_audit):
    env = {"MONGO_URI": mongo_uri, "MONGO_DATABASE": mongo_database_name}
    assert main(["create", "--owner", "alice", "--name", "ci"], env) == 0
    created = capsys.readouterr()
    key = created.out.strip()
    log_audit.watch("key from the CLI", key)
    assert key.startswith("acai_")
    assert "shown only this once" in created.err
    assert MongoApiKeyStore(database).owner_of(key_digest(key)) == "alice"

    assert main(["list"], env) == 0
    listing = capsys.readouterr().out
    key_id = key_digest(key)[:12]
    assert key_id in listing
    assert "alice" in listing
    assert "active" in listing
    assert key not in listing

    assert main(["revoke", key_id], env) == 0
    assert "revoked" in capsys.readouterr().out
    assert MongoApiKeyStore(database).owner_of(key_digest(key)) is None
    assert main(["revoke", "ffffffffffff"], env) == 1
    assert main(["create", "--owner", " "], env) == 2


def test_cli_shows_sets_and_clears_an_owners_default_instructions(
    mongo_uri, mongo_database_name, database, capsys
):
    env = {
        "MONGO_URI": mongo_uri,
        "MONGO_DATABASE": mongo_database_name,
        "MAX_INSTRUCTIONS_CHARS": "20",
    }
    assert main(["instructions", "--owner", "alice", "--set", "Answer in French."], env) == 0
    assert capsys.readouterr().out == "set the default instructions of 'alice'\n"
    assert MongoOwnerSettingsStore(database).instructions("alice") == "Answer in French."
    assert main(["instructions", "--owner", "alice"], env) == 0
    assert capsys.readouterr().out == "Answer in French.\n"

    assert main(["instructions", "--owner", "alice", "--set", "x" * 21], env) == 2
    assert "longer than 20 characters" in capsys.readouterr().err
    assert main(["instructions", "--owner", "alice", "--clear"], env) == 0
    assert capsys.readouterr().out == "removed the default instructions of 'alice'\n"
    assert MongoOwnerSettingsStore(database).instructions("alice") == ""
