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

from chat_service.errors import StorageUnavailable
from chat_service.mongo import connect_mongo
from migrations import apply_all, discover, pending, rollback_last, status
from migrations.__main__ import main

APPLIED_AT = datetime(2025, 6, 1, 12, 0, 0, 123_000, tzinfo=UTC)
V0001_INDEXES = {
    ("conversations", "owner_created_at_id"): [("owner", 1), ("created_at", -1), ("_id", -1)],
    ("conversations", "platform_chat_id"): [("platform", 1), ("chat_id", 1)],
    ("messages", "conversation_id_seq"): [("conversation_id", 1), ("seq", 1)],
}
V0002_INDEXES = {
    ("prompts", "name_platform_version"): [("name", 1), ("platform", 1), ("version", -1)],
    ("summaries", "conversation_id_end_seq"): [("conversation_id", 1), ("end_seq", -1)],
}
V0006_INDEXES = {
    ("api_keys", "key_id"): [("key_id", 1)],
    ("api_keys", "owner_created_at"): [("owner", 1), ("created_at", 1)],
    ("api_keys", "revoked_at"): [("revoked_at", 1)],
}
ALL_INDEXES = V0001_INDEXES | V0002_INDEXES | V0006_INDEXES
VERSIONS = [1, 2, 6]


@pytest.fixture
def database(mongo_uri: str, mongo_database_name: str) -> Iterator[Database[dict[str, Any]]]:
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    yield client[mongo_database_name]
    client.close()


def indexes(database) -> dict[tuple[str, str], list[tuple[str, int]]]:
    found: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for collection in ("conversations", "messages", "prompts", "summaries", "api_keys"):
        for name, info in database[collection].index_information().items():
            if name != "_id_":
                found[collection, name] = [(key, int(direction)) for key, direction in info["key"]]
    return found


def test_versions_are_discovered_in_order() -> None:
    migrations = discover()

    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    assert str(migrations[0]) == "v0001 initial"


def test_up_creates_the_indexes_and_records_the_versions(database) -> None:
    assert [m.version for m in pending(database)] == VERSIONS

    applied = apply_all(database, clock=lambda: APPLIED_AT)

    assert [m.version for m in applied] == VERSIONS
    assert indexes(database) == ALL_INDEXES
    assert database.messages.index_information()["conversation_id_seq"]["unique"] is True
    assert list(database.schema_migrations.find()) == [
        {"_id": 1, "name": "initial", "applied_at": APPLIED_AT},
        {"_id": 2, "name": "prompts_and_summaries", "applied_at": APPLIED_AT},
        {"_id": 6, "name": "api_keys", "applied_at": APPLIED_AT},
    ]
    assert database.api_keys.index_information()["key_id"]["unique"] is True
    assert pending(database) == []
    assert [(s.migration.version, s.applied_at) for s in status(database)] == [
        (1, APPLIED_AT),
        (2, APPLIED_AT),
        (6, APPLIED_AT),
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
    assert reverted.version == discover()[-1].version == 6
    assert indexes(database) == V0001_INDEXES | V0002_INDEXES
    assert database.schema_migrations.count_documents({}) == 2
    assert rollback_last(database) is not None
    assert indexes(database) == V0001_INDEXES
    assert rollback_last(database) is not None
    assert indexes(database) == {}
    assert [s.applied_at for s in status(database)] == [None, None, None]
    assert rollback_last(database) is None
    assert [m.version for m in apply_all(database)] == VERSIONS
    assert indexes(database) == ALL_INDEXES


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

    outputs = []
    for command in ("status", "up", "up", "status", "down", "down", "down", "down"):
        assert main([command], environ) == 0
        outputs.append(capsys.readouterr().out.strip())

    assert outputs[0].splitlines() == [
        "v0001 initial: pending",
        "v0002 prompts_and_summaries: pending",
        "v0006 api_keys: pending",
    ]
    assert outputs[1:3] == [
        "applied v0001 initial\napplied v0002 prompts_and_summaries\napplied v0006 api_keys",
        "nothing to apply: up to date",
    ]
    assert outputs[3].startswith("v0001 initial: 20")
    assert outputs[4:] == [
        "rolled back v0006 api_keys",
        "rolled back v0002 prompts_and_summaries",
        "rolled back v0001 initial",
        "nothing to roll back",
    ]
