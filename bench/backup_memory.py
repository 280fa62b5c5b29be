"""Peak memory of a backup and a restore as the data grows: `python -m bench.backup_memory`.

Starts a throwaway secantusd-py, and for each size N fills a database with N conversations and
2N messages, then backs it up and restores it into an empty database, each in a fresh child
process that reports its Python heap peak (tracemalloc) and its peak resident set (ru_maxrss,
which includes the interpreter and imports). Flat numbers across sizes mean streaming works.

    python -m bench.backup_memory [--sizes 2000 10000 50000] [--batch-size 1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pymongo
from bson import ObjectId

import migrations
from devstack.servers import MongoServer
from ops.backup import dump_database
from ops.restore import RestoreMode, restore_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed(db, conversations: int) -> None:
    """Fills `db` with `conversations` conversations of two ~300-byte messages each."""
    migrations.apply_all(db)
    for start in range(0, conversations, 1000):
        batch, messages = [], []
        for n in range(start, min(start + 1000, conversations)):
            cid, created = ObjectId(), T0 + timedelta(seconds=n)
            batch.append(
                {
                    "_id": cid,
                    "owner": "bench",
                    "title": f"Conversation {n}",
                    "platform": "api",
                    "user_id": f"u{n % 100}",
                    "chat_id": str(n),
                    "created_at": created,
                    "updated_at": created,
                    "message_count": 2,
                }
            )
            messages += [
                {
                    "_id": ObjectId(),
                    "conversation_id": cid,
                    "seq": seq,
                    "role": role,
                    "content": f"{role} message {n}: " + "lorem ipsum " * 25,
                    "created_at": created,
                }
                for seq, role in enumerate(("user", "assistant"))
            ]
        db.conversations.insert_many(batch)
        db.messages.insert_many(messages)


def measure(operation: str, uri: str, database: str, path: str, batch_size: int) -> dict:
    """Runs one backup or restore in this process; returns its peaks and duration."""
    tracemalloc.start()
    started = time.perf_counter()
    with pymongo.MongoClient(uri) as client:
        if operation == "backup":
            dump_database(client[database], Path(path), batch_size=batch_size)
        else:
            source = next(p for p in Path(path).iterdir() if p.is_dir())
            report = restore_database(
                client[database], source, mode=RestoreMode.DROP, batch_size=batch_size
            )
            assert report.verified, report
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    return {
        "seconds": round(seconds, 2),
        "python_heap_peak_mib": round(peak / 2**20, 2),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def in_child(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.backup_memory", "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(output))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backup_memory", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 50000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--child", nargs=4, metavar=("OP", "URI", "DB", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        operation, uri, database, path = args.child
        print(json.dumps(measure(operation, uri, database, path, args.batch_size)))
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp, MongoServer(Path(tmp) / "mongo") as mongo:
        client: pymongo.MongoClient = pymongo.MongoClient(mongo.uri)
        print(
            f"{'conversations':>13} {'documents':>9} {'bytes':>10}  {'op':<7} "
            f"{'heap peak':>10} {'max RSS':>9} {'seconds':>8}"
        )
        for size in args.sizes:
            source, target = f"bench_{size}", f"bench_{size}_restored"
            seed(client[source], size)
            documents = sum(
                client[source][c].count_documents({}) for c in ("conversations", "messages")
            )
            out = str(Path(tmp) / f"backup-{size}")
            dump_bytes = 0
            for op, database in (("backup", source), ("restore", target)):
                row = {"conversations": size, "documents": documents, "operation": op}
                row |= in_child(op, mongo.uri, database, out)
                if op == "backup":
                    dump_bytes = sum(p.stat().st_size for p in Path(out).rglob("*.bson"))
                row["bytes"] = dump_bytes
                results.append(row)
                print(
                    f"{size:>13} {documents:>9} {dump_bytes:>10}  {op:<7} "
                    f"{row['python_heap_peak_mib']:>6} MiB {row['max_rss_mib']:>5} MiB "
                    f"{row['seconds']:>8}"
                )
            client.drop_database(source)
            client.drop_database(target)
        client.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"batch_size": args.batch_size, "results": results}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
