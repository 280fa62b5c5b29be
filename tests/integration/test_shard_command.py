"""ops.shard against the dev server (not a sharded cluster): it changes nothing."""

from __future__ import annotations

import pymongo

from ops.shard import main, shard, unowned_idempotency_records


def _state(database):
    return {
        name: sorted(index["name"] for index in database[name].list_indexes())
        for name in database.list_collection_names()
    }


def test_on_a_server_that_is_no_mongos_nothing_is_run(mongo_uri, mongo_database_name) -> None:
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        database = client[mongo_database_name]
        database.conversations.insert_one({"owner": "alice"})
        before = _state(database)
        ran = []

        report = shard(client, mongo_database_name, on_command=ran.append)

        assert report.topology in ("replica set", "standalone")
        assert (report.commands, ran) == ((), [])
        assert _state(database) == before
    finally:
        client.close()


def test_the_command_line_says_there_is_nothing_to_do(
    mongo_uri, mongo_database_name, capsys
) -> None:
    environ = {"MONGO_URI": mongo_uri, "MONGO_DATABASE": mongo_database_name}

    assert main([], environ) == 0
    assert main(["--dry-run"], environ) == 0

    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    for line in out:
        assert line.startswith(f"nothing to do: database {mongo_database_name!r} is on a ")
        assert line.endswith(", not a sharded cluster")


def test_an_unreachable_server_is_one_line_and_status_1(capsys) -> None:
    environ = {"MONGO_URI": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200"}

    assert main([], environ) == 1
    err = capsys.readouterr().err
    assert err.startswith("shard: error: cannot reach MongoDB at ")
    assert err.count("\n") == 1


def test_idempotency_records_without_an_owner_are_found(mongo_uri, mongo_database_name) -> None:
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        database = client[mongo_database_name]
        database.idempotency_keys.insert_one({"_id": "new", "owner": "alice"})
        assert not unowned_idempotency_records(database)

        database.idempotency_keys.insert_one({"_id": "old"})

        assert unowned_idempotency_records(database)
    finally:
        client.close()
