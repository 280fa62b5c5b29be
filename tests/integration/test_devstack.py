"""The development stack's servers: real Redis and secantusd-py processes on loopback."""

from __future__ import annotations

import pymongo
import pymongo.errors
import pytest
import redis

from devstack.process import ServerStartError
from devstack.servers import MongoServer, RedisServer


def _mongo(uri: str) -> pymongo.MongoClient[dict[str, object]]:
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)


def test_redis_answers_ping_set_get(redis_server):
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        assert client.ping()
        client.set("devstack:key", "value")
        assert client.get("devstack:key") == b"value"
    finally:
        client.close()


def test_redis_server_is_its_own_not_the_machine_default(redis_server):
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert redis_server.port != 6379
    assert redis_server.running


def test_mongo_accepts_insert_and_find(mongo_uri, mongo_database_name):
    with _mongo(mongo_uri) as client:
        things = client[mongo_database_name]["things"]
        things.insert_one({"_id": 1, "name": "one"})
        assert things.find_one({"name": "one"}) == {"_id": 1, "name": "one"}


def test_mongo_stop_refuses_connections_and_start_keeps_the_data(tmp_path):
    with MongoServer(tmp_path / "mongo") as server:
        with _mongo(server.uri) as client:
            client.db.things.insert_one({"_id": "kept"})
        pid = server.pid
        server.stop()
        assert not server.running
        assert server.pid is None
        with (
            _mongo(server.uri) as client,
            pytest.raises(pymongo.errors.ServerSelectionTimeoutError),
        ):
            client.admin.command("ping")
        server.start()
        assert server.pid != pid
        with _mongo(server.uri) as client:
            assert client.db.things.find_one() == {"_id": "kept"}
    assert (tmp_path / "mongo" / "secantusd.log").stat().st_size > 0


def test_redis_stop_refuses_connections_and_start_brings_it_back(tmp_path):
    with RedisServer(tmp_path / "redis") as server:
        port = server.port
        server.stop()
        server.stop()
        client = redis.Redis.from_url(server.url, socket_connect_timeout=1)
        with pytest.raises(redis.ConnectionError):
            client.ping()
        server.start()
        assert server.port == port
        assert client.ping()
        client.close()
        with pytest.raises(RuntimeError, match="already running"):
            server.start()


def test_a_server_that_cannot_start_reports_its_log(tmp_path):
    missing = MongoServer(tmp_path / "mongo", binary=tmp_path / "missing", start_timeout_s=5)
    with pytest.raises(FileNotFoundError):
        missing.start()
    (tmp_path / "fails").write_text("#!/bin/sh\necho broken on purpose\nexit 3\n")
    (tmp_path / "fails").chmod(0o755)
    server = RedisServer(tmp_path / "redis", binary=tmp_path / "fails", start_timeout_s=5)
    with pytest.raises(ServerStartError, match=r"(?s)exited with status 3.*broken on purpose"):
        server.start()
    assert not server.running
