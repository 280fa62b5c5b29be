"""Backup and restore against the real Mongo-protocol server: identical documents and indexes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pymongo
import pytest
from bson import Int64, ObjectId

import migrations
from ops import backup, restore
from ops.backup import dump_database
from ops.dump_layout import MANIFEST_NAME, DumpFormatError, Manifest
from ops.restore import RestoreMode, find_database_dir, restore_database

CONVERSATIONS = 10_000
MESSAGES_PER_CONVERSATION = 2
T0 = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
# The sessions carry a TTL index: a past `last_seen` lets the server's TTL monitor delete them from
# the source (and not yet from the restored copy) while the test compares the two.
NEVER_EXPIRES = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def client(mongo_uri):
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as client:
        yield client


@pytest.fixture
def databases(client, mongo_database_name):
    """(source, target) databases; both dropped afterwards."""
    target_name = f"{mongo_database_name}_restored"
    yield client[mongo_database_name], client[target_name]
    client.drop_database(target_name)


def seed(db, conversations: int = CONVERSATIONS) -> None:
    """Migrations' indexes, `conversations` and `messages`, plus collections of other shapes."""
    migrations.apply_all(db)
    batch_conversations, batch_messages = [], []
    for n in range(conversations):
        conversation_id = ObjectId()
        created = T0 + timedelta(seconds=n)
        batch_conversations.append(
            {
                "_id": conversation_id,
                "owner": f"owner-{n % 7}",
                "title": f"Conversation № {n} — ünïcödé",
                "platform": "api",
                "user_id": f"user-{n % 97}",
                "chat_id": str(n),
                "created_at": created,
                "updated_at": created,
                "message_count": Int64(MESSAGES_PER_CONVERSATION),
                "usage": {"input_tokens": n, "output_tokens": 2 * n, "cost_usd": n / 1000},
            }
        )
        for seq in range(MESSAGES_PER_CONVERSATION):
            role = "user" if seq % 2 == 0 else "assistant"
            batch_messages.append(
                {
                    "_id": ObjectId(),
                    "conversation_id": conversation_id,
                    "seq": seq,
                    "role": role,
                    "content": f"message {seq} of {n}",
                    "created_at": created,
                }
            )
        if len(batch_conversations) == 1000:
            db.conversations.insert_many(batch_conversations)
            db.messages.insert_many(batch_messages)
            batch_conversations, batch_messages = [], []
    if batch_conversations:
        db.conversations.insert_many(batch_conversations)
        db.messages.insert_many(batch_messages)
    # Shapes the service does not use yet: the backup must not care what the collections are.
    db.sessions.create_index(
        [("platform", 1), ("chat_id", 1), ("user_id", 1)], name="session_key", unique=True
    )
    db.sessions.create_index("last_seen", name="expiry", expireAfterSeconds=3600)
    db.sessions.create_index(
        "owner", name="owners_only", partialFilterExpression={"owner": {"$exists": True}}
    )
    db.sessions.insert_many(
        [
            {"platform": "telegram", "chat_id": str(n), "user_id": "u", "last_seen": NEVER_EXPIRES}
            for n in range(5)
        ]
    )
    db.create_collection("audit", capped=True, size=1 << 20)
    db.audit.insert_many([{"event": n} for n in range(3)])
    db.command(
        "create", "recent_titles", viewOn="conversations", pipeline=[{"$project": {"title": 1}}]
    )


def raw_documents(db, name: str) -> bytes:
    """Every document of `name` as stored, concatenated in _id order."""
    return b"".join(db[name].find_raw_batches({}, sort=[("_id", 1)], batch_size=2000))


def indexes(db, name: str) -> list[dict]:
    return sorted(
        ({k: v for k, v in spec.items() if k != "ns"} for spec in db[name].list_indexes()),
        key=lambda spec: spec["name"],
    )


def collection_options(db) -> dict[str, tuple[str, dict]]:
    return {
        info["name"]: (info.get("type", "collection"), info.get("options", {}))
        for info in db.list_collections()
        if not info["name"].startswith("system.")
    }


def assert_identical(source, target) -> None:
    assert collection_options(target) == collection_options(source)
    for name, (kind, _) in collection_options(source).items():
        if kind == "view":
            assert list(target[name].find({}).sort("_id", 1).limit(3)) == list(
                source[name].find({}).sort("_id", 1).limit(3)
            )
            continue
        assert raw_documents(target, name) == raw_documents(source, name), name
        assert indexes(target, name) == indexes(source, name), name


def test_ten_thousand_conversations_round_trip_into_an_empty_database(databases, tmp_path):
    source, target = databases
    seed(source)
    root = tmp_path / "backup-1"

    dumped = dump_database(source, root, batch_size=500, clock=lambda: T0)

    counts = {c.name: c.documents for c in dumped.collections}
    assert counts["conversations"] == CONVERSATIONS
    assert counts["messages"] == CONVERSATIONS * MESSAGES_PER_CONVERSATION
    assert counts["schema_migrations"] == len(migrations.discover())
    assert not (tmp_path / "backup-1.partial").exists()
    directory = root / source.name
    assert (directory / "conversations.bson").stat().st_size == next(
        c.bytes for c in dumped.collections if c.name == "conversations"
    )
    metadata = json.loads((directory / "messages.metadata.json").read_text())
    assert list(metadata) == ["options", "indexes", "uuid", "collectionName", "type"]
    assert metadata["collectionName"] == "messages"
    unique = next(i for i in metadata["indexes"] if i["name"] == "conversation_id_seq")
    assert unique["key"] == {"conversation_id": {"$numberInt": "1"}, "seq": {"$numberInt": "1"}}
    tables = {name: count for name, count in counts.items() if name != "recent_titles"}
    assert Manifest.read(root) == Manifest(source.name, T0, tables)

    assert target.list_collection_names() == []
    report = restore_database(
        target,
        find_database_dir(root, database=target.name),
        mode=RestoreMode.DROP,
        batch_size=700,
    )

    assert report.verified
    assert_identical(source, target)
    restored = {c.name: c for c in report.collections}
    assert restored["conversations"].inserted == CONVERSATIONS
    assert restored["messages"].now_holds == CONVERSATIONS * MESSAGES_PER_CONVERSATION


def test_drop_mode_puts_back_exactly_the_backup(databases, tmp_path):
    source, _ = databases
    seed(source, conversations=50)
    dump_database(source, tmp_path / "b", batch_size=7)
    changed = source.conversations.find_one(sort=[("_id", 1)])
    source.conversations.update_one({"_id": changed["_id"]}, {"$set": {"title": "changed"}})
    source.conversations.insert_one({"_id": ObjectId(), "title": "added after the backup"})
    source.conversations.drop_index("platform_chat_id")
    source.untouched.insert_one({"kept": True})

    report = restore_database(source, tmp_path / "b" / source.name, mode=RestoreMode.DROP)

    assert report.verified
    assert source.conversations.count_documents({}) == 50
    assert source.conversations.find_one({"_id": changed["_id"]})["title"] == changed["title"]
    assert "platform_chat_id" in [i["name"] for i in source.conversations.list_indexes()]
    assert source.untouched.count_documents({}) == 1  # not in the backup: left alone


def test_merge_mode_adds_what_is_missing_and_keeps_what_is_there(databases, tmp_path):
    source, target = databases
    seed(source, conversations=40)
    dump_database(source, tmp_path / "b")
    kept = source.conversations.find_one(sort=[("_id", 1)])
    target.conversations.insert_one({**kept, "title": "newer title"})
    target.conversations.insert_one({"_id": ObjectId(), "title": "only in the target"})

    report = restore_database(target, tmp_path / "b" / source.name, mode=RestoreMode.MERGE)

    assert report.verified
    conversations = next(c for c in report.collections if c.name == "conversations")
    assert (conversations.inserted, conversations.already_present) == (39, 1)
    assert conversations.now_holds == 41
    assert target.conversations.find_one({"_id": kept["_id"]})["title"] == "newer title"
    assert indexes(target, "messages") == indexes(source, "messages")


def test_a_truncated_backup_is_refused_before_the_data_in_place_is_touched(databases, tmp_path):
    source, target = databases
    seed(source, conversations=30)
    dump_database(source, tmp_path / "b")
    path = tmp_path / "b" / source.name / "messages.bson"
    path.write_bytes(path.read_bytes()[:-10])
    target.messages.insert_one({"in": "place"})

    with pytest.raises(DumpFormatError, match=r"messages\.bson: damaged or truncated after 59"):
        restore_database(target, tmp_path / "b" / source.name, mode=RestoreMode.DROP)

    assert list(target.messages.find({}, {"_id": 0})) == [{"in": "place"}]


def test_a_backup_cut_at_a_document_boundary_is_caught_by_the_manifest(databases, tmp_path):
    source, target = databases
    seed(source, conversations=3)
    dump_database(source, tmp_path / "b")
    path = tmp_path / "b" / source.name / "conversations.bson"
    data = path.read_bytes()
    path.write_bytes(data[: int.from_bytes(data[:4], "little")])  # the first document only

    with pytest.raises(DumpFormatError, match="holds 1 documents, the backup's manifest says 3"):
        restore_database(target, tmp_path / "b" / source.name, mode=RestoreMode.DROP)


def test_a_dump_without_manifest_restores_like_one_from_mongodump(databases, tmp_path):
    source, target = databases
    seed(source, conversations=20)
    dump_database(source, tmp_path / "b")
    (tmp_path / "b" / MANIFEST_NAME).unlink()

    assert restore_database(target, tmp_path / "b" / source.name, mode=RestoreMode.DROP).verified
    assert_identical(source, target)


def test_an_existing_backup_is_never_overwritten(databases, tmp_path):
    source, _ = databases
    (tmp_path / "b").mkdir()
    with pytest.raises(FileExistsError):
        dump_database(source, tmp_path / "b")


def test_the_command_lines_back_up_and_restore(databases, tmp_path, mongo_uri, monkeypatch, capsys):
    source, target = databases
    seed(source, conversations=25)
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("MONGO_DATABASE", source.name)

    assert backup.main(["--out-dir", str(tmp_path), "--name", "nightly"]) == 0
    out = capsys.readouterr().out
    assert f"{source.name}.conversations: 25 documents, 3 indexes" in out
    assert out.rstrip().endswith(f"backup written to {tmp_path / 'nightly'}")

    assert restore.main([str(tmp_path / "nightly"), "--drop", "--db", target.name]) == 0
    out = capsys.readouterr().out
    assert "ok       conversations: 25 in backup, 25 inserted" in out
    assert "restore verified" in out
    assert_identical(source, target)

    with pytest.raises(SystemExit) as exit_info:
        restore.main([str(tmp_path / "nightly")])  # a mode must be chosen
    assert exit_info.value.code == 2


def test_an_unknown_path_fails_with_a_message(tmp_path, mongo_uri, monkeypatch, capsys):
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("MONGO_DATABASE", f"none_{uuid.uuid4().hex[:8]}")
    assert restore.main([str(tmp_path / "missing"), "--merge"]) == 1
    assert "is not a directory" in capsys.readouterr().err
