"""ops.shard: the commands it builds for a sharded cluster, and how it reads `hello`."""

from __future__ import annotations

from ops.shard import SHARD_KEYS, AdminCommand, ShardKey, sharding_commands, topology

OWNER_KEY = {"owner": 1, "_id": 1}
HASHED_CONVERSATION = {"conversation_id": "hashed"}


def test_the_database_is_enabled_first_then_each_collection_gets_its_index_then_its_key():
    commands = sharding_commands("chat")

    assert commands[0] == AdminCommand("admin", {"enableSharding": "chat"})
    assert len(commands) == 1 + 2 * len(SHARD_KEYS)
    for n, shard_key in enumerate(SHARD_KEYS):
        index, shard_collection = commands[1 + 2 * n], commands[2 + 2 * n]
        assert index.database == "chat"
        assert index.command["createIndexes"] == shard_key.collection
        assert shard_collection == AdminCommand(
            "admin",
            {"shardCollection": f"chat.{shard_key.collection}", "key": dict(shard_key.key)},
        )
        assert index.command["indexes"] == [
            {"key": dict(shard_key.key), "name": shard_key.index_name}
        ]


def test_the_shard_keys_of_each_collection():
    keys = {k.collection: dict(k.key) for k in SHARD_KEYS}

    assert keys == {
        "conversations": OWNER_KEY,
        "deleted_conversations": OWNER_KEY,
        "sessions": OWNER_KEY,
        "idempotency_keys": OWNER_KEY,
        "usage": OWNER_KEY,
        "messages": HASHED_CONVERSATION,
        "summaries": HASHED_CONVERSATION,
        "turns": {"_id": "hashed"},
    }


def test_key_order_is_kept_in_the_command():
    # A shard key is ordered: {owner, _id} and {_id, owner} are different keys.
    command = sharding_commands("chat", [ShardKey("c", (("owner", 1), ("_id", 1)))])[2]
    assert list(command.command["key"]) == ["owner", "_id"]
    assert list(command.command) == ["shardCollection", "key"]  # the command name comes first


def test_index_names_follow_the_shells_convention():
    assert ShardKey("c", (("owner", 1), ("_id", 1))).index_name == "owner_1__id_1"
    assert ShardKey("m", (("conversation_id", "hashed"),)).index_name == "conversation_id_hashed"


def test_only_a_mongos_is_a_sharded_cluster():
    assert topology({"msg": "isdbgrid", "isWritablePrimary": True}) == "sharded cluster"
    assert topology({"setName": "rs0", "isWritablePrimary": True}) == "replica set"
    assert topology({"isWritablePrimary": True}) == "standalone"


def test_commands_print_as_one_line():
    assert str(AdminCommand("admin", {"enableSharding": "chat"})) == "admin: enableSharding 'chat'"
    shard = AdminCommand("admin", {"shardCollection": "chat.messages", "key": HASHED_CONVERSATION})
    assert str(shard) == (
        "admin: shardCollection 'chat.messages' {'key': {'conversation_id': 'hashed'}}"
    )
