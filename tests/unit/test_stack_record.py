"""The dev stack's record: written while a stack runs, read by the CLIs, the environment first."""

from __future__ import annotations

import json
import os

from devstack.stack_record import (
    RUN,
    SERVERS,
    StackRecord,
    live_record,
    new_record,
    recorded,
    with_stack_defaults,
)


def _record(kind=SERVERS, pid=None, started_at=1.0, **fields) -> StackRecord:
    values = {
        "redis_url": "redis://127.0.0.1:7001/0",
        "mongo_uri": "mongodb://127.0.0.1:7002/",
        **fields,
    }
    return StackRecord(
        kind=kind, pid=os.getpid() if pid is None else pid, started_at=started_at, **values
    )


def test_a_record_exists_while_its_block_runs(tmp_path):
    record = new_record(RUN, redis_url="redis://r/0", mongo_uri="mongodb://m/", app_url="http://a")
    with recorded(record, directory=tmp_path) as path:
        assert path == tmp_path / f"{os.getpid()}.json"
        assert json.loads(path.read_text())["app_url"] == "http://a"
        assert live_record(directory=tmp_path) == record
    assert list(tmp_path.iterdir()) == []
    assert live_record(directory=tmp_path) is None


def test_records_of_dead_processes_are_ignored_and_removed(tmp_path):
    (tmp_path / "4242.json").write_text(
        json.dumps(
            {"kind": SERVERS, "pid": 4242, "redis_url": "redis://x/0", "mongo_uri": "mongodb://x/"}
        )
    )
    (tmp_path / "junk.json").write_text("{not json")

    assert live_record(directory=tmp_path, alive=lambda pid: False) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.json"]


def test_the_newest_live_record_of_the_asked_kind_wins(tmp_path):
    older = _record(SERVERS, pid=11, started_at=1.0)
    newer = _record(RUN, pid=12, started_at=2.0, app_url="http://127.0.0.1:8081")
    for record in (older, newer):
        (tmp_path / f"{record.pid}.json").write_text(
            json.dumps({k: getattr(record, k) for k in record.__slots__})
        )

    assert live_record(directory=tmp_path, alive=lambda pid: True) == newer
    assert live_record(directory=tmp_path, kinds=(SERVERS,), alive=lambda pid: True) == older
    assert live_record(directory=tmp_path / "missing") is None


def test_the_environment_wins_group_by_group():
    record = _record(mongo_database="dev")

    assert with_stack_defaults({}, record) == {
        "MONGO_URI": record.mongo_uri,
        "MONGO_DATABASE": "dev",
        "REDIS_URL": record.redis_url,
    }
    # A configured server keeps its own database name (the default), not the record's.
    assert with_stack_defaults({"MONGODB_URI": "mongodb://prod/", "REDIS_ADDR": "r:1"}, record) == {
        "MONGODB_URI": "mongodb://prod/",
        "REDIS_ADDR": "r:1",
    }
    assert with_stack_defaults({"MONGO_DATABASE": "mine"}, record)["MONGO_DATABASE"] == "mine"
    assert with_stack_defaults({"PORT": "1"}, None) == {"PORT": "1"}
