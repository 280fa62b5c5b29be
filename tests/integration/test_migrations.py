"""The migration runner and the migrations against the Mongo-protocol server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pymongo
import pytest
from bson import ObjectId
from pymongo.database import Database

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.core.errors import StorageUnavailable
from migrations import apply_all, discover, pending, rollback_last, status
from migrations.__main__ import main

APPLIED_AT = datetime(2025, 6, 1, 12, 0, 0, 123_000, tzinfo=UTC)
# The indexes each migration creates: (collection, index name) -> keys.
INDEXES_BY_VERSION: dict[int, dict[tuple[str, str], list[tuple[str, int]]]] = {
    1: {
        ("conversations", "owner_created_at_id"): [("owner", 1), ("created_at", -1), ("_id", -1)],
        ("conversations", "platform_chat_id"): [("platform", 1), ("chat_id", 1)],
        ("messages", "conversation_id_seq"): [("conversation_id", 1), ("seq", 1)],
    },
    2: {
        ("prompts", "name_platform_version"): [("name", 1), ("platform", 1), ("version", -1)],
        ("summaries", "conversation_id_end_seq"): [("conversation_id", 1), ("end_seq", -1)],
    },
    3: {("sessions", "expires_at_ttl"): [("expires_at", 1)]},
    4: {("turn_locks", "expires_at_ttl"): [("expires_at", 1)]},
    5: {("idempotency_keys", "expires_at_ttl"): [("expires_at", 1)]},
    6: {
        ("api_keys", "key_id"): [("key_id", 1)],
        ("api_keys", "owner_created_at"): [("owner", 1), ("created_at", 1)],
        ("api_keys", "revoked_at"): [("revoked_at", 1)],
    },
    7: {
        ("sessions", "conversation_id"): [("conversation_id", 1)],
        ("idempotency_keys", "outcome_conversation_id"): [("outcome.conversation_id", 1)],
    },
    8: {
        ("usage", "owner_day"): [("owner", 1), ("day", 1)],
        ("usage", "key_id_day"): [("key_id", 1), ("day", 1)],
    },
    9: {("budgets", "owner"): [("owner", 1)]},
    10: {("turns", "ended_at_ttl"): [("ended_at", 1)]},
}
VERSIONS = sorted(INDEXES_BY_VERSION)


def expected_indexes(versions) -> dict[tuple[str, str], list[tuple[str, int]]]:
    return {k: v for version in versions for k, v in INDEXES_BY_VERSION[version].items()}


ALL_INDEXES = expected_indexes(VERSIONS)


@pytest.fixture
def database(mongo_uri: str, mongo_database_name: str) -> Iterator[Database[dict[str, Any]]]:
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    yield client[mongo_database_name]
    client.close()


def indexes(database) -> dict[tuple[str, str], list[tuple[str, int]]]:
    found: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for collection in sorted({collection for collection, _ in ALL_INDEXES}):
        for name, info in database[collection].index_information().items():
            if name != "_id_":
                found[collection, name] = [(key, int(direction)) for key, direction in info["key"]]
    return found


def test_versions_are_discovered_in_order() -> None:
    migrations = discover()

    assert [m.version for m in migrations] == VERSIONS
    assert str(migrations[0]) == "v0001 initial"


def test_up_creates_the_indexes_and_records_the_versions(database) -> None:
    assert [m.version for m in pending(database)] == VERSIONS

    applied = apply_all(database, clock=lambda: APPLIED_AT)

    assert [m.version for m in applied] == VERSIONS
    assert indexes(database) == ALL_INDEXES
    assert database.messages.index_information()["conversation_id_seq"]["unique"] is True
    ttl_index = database.sessions.index_information()["expires_at_ttl"]
    assert ttl_index["expireAfterSeconds"] == 0
    assert list(database.schema_migrations.find().sort("_id")) == [
        {"_id": m.version, "name": m.name, "applied_at": APPLIED_AT} for m in discover()
    ]
    assert database.api_keys.index_information()["key_id"]["unique"] is True
    assert pending(database) == []
    assert [(s.migration.version, s.applied_at) for s in status(database)] == [
        (version, APPLIED_AT) for version in VERSIONS
    ]


def test_up_again_changes_nothing(database) -> None:
    apply_all(database, clock=lambda: APPLIED_AT)
    discover()[0].up(database)  # as if a crash came between up() and its record

    assert apply_all(database) == []
    assert indexes(database) == ALL_INDEXES
    assert database.schema_migrations.count_documents({}) == len(VERSIONS)


def test_down_reverts_one_step(database) -> None:
    apply_all(database)

    reverted = rollback_last(database)

    assert reverted is not None
    assert reverted.version == VERSIONS[-1]
    assert indexes(database) == expected_indexes(VERSIONS[:-1])
    assert [s.applied_at is None for s in status(database)] == [False] * (len(VERSIONS) - 1) + [
        True
    ]
    while rollback_last(database) is not None:
        pass
    assert indexes(database) == {}
    assert database.schema_migrations.count_documents({}) == 0
    assert [m.version for m in apply_all(database)] == VERSIONS
    assert indexes(database) == ALL_INDEXES


def test_a_migration_added_below_the_applied_ones_is_still_applied(database) -> None:
    # Branches merged in any order: an older version that arrives later is pending, not skipped.
    apply_all(database)
    database.schema_migrations.delete_one({"_id": VERSIONS[0]})

    assert [m.version for m in pending(database)] == [VERSIONS[0]]
    assert [m.version for m in apply_all(database)] == [VERSIONS[0]]


def test_the_unique_index_rejects_a_second_message_with_the_same_seq(database) -> None:
    apply_all(database)
    conversation_id = ObjectId()
    database.messages.insert_one({"conversation_id": conversation_id, "seq": 0})
    database.messages.insert_one({"conversation_id": ObjectId(), "seq": 0})

    with pytest.raises(pymongo.errors.DuplicateKeyError):
        database.messages.insert_one({"conversation_id": conversation_id, "seq": 0})


def test_an_unreachable_server_is_storage_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = connect_mongo(f"mongodb://127.0.0.1:{port}", timeout_ms=200)
    with client, pytest.raises(StorageUnavailable):
        pending(client["acai"])


def test_the_command_line(
    mongo_uri: str, mongo_database_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"MONGODB_URI": mongo_uri, "MONGO_DATABASE": mongo_database_name}
    names = [str(m) for m in discover()]

    outputs = []
    for command in ("status", "up", "up", "status", "down"):
        assert main([command], environ) == 0
        outputs.append(capsys.readouterr().out.strip().splitlines())

    assert outputs[0] == [f"{name}: pending" for name in names]
    assert outputs[1] == [f"applied {name}" for name in names]
    assert outputs[2] == ["nothing to apply: up to date"]
    assert [line.split(": ")[1][:2] for line in outputs[3]] == ["20"] * len(names)
    assert outputs[4] == [f"rolled back {names[-1]}"]
