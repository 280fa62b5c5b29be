"""Peak memory and time of one owner's export and erasure as its data grows:
`python -m bench.owner_memory` (or `python -m bench --only owner` on the bench stack).

For each size N a fresh database holds N conversations of the owner (two ~300-byte messages
each, plus a summary, a session and an idempotency record for one in a hundred), one long
conversation of `--long-messages` ~1 KiB messages, an API key, and another owner's 1,000
conversations. Then `python -m ops.owner export --output FILE` and `erase --yes --keys` run, each
in a fresh child process that reports its Python heap peak (tracemalloc) and its peak resident
set (VmHWM, which includes the interpreter and imports); a child that only imports the tool and
pings the servers gives the floor. (Not ru_maxrss: on Linux a child's starts at its parent's
high-water mark, carried over fork and exec, so a large bench process would hide the child.) The export is then read back line by line, and the
other owner's documents counted: flat figures across sizes, a complete export and an untouched
other owner are the result.

    python -m bench.owner_memory [--sizes 1000 10000] [--long-messages 10000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymongo
from bson import ObjectId

import migrations
from devstack.servers import MongoServer, RedisServer
from ops import owner

OWNER = "bench-owner"
OTHER = "bench-other"
OTHER_CONVERSATIONS = 1000
SIZES = (1000, 10_000)
LONG_MESSAGES = 10_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
OPERATIONS = ("floor", "export", "erase")


def seed(db, owner_name: str, conversations: int, *, long_messages: int = 0) -> None:
    """Stores `conversations` two-message conversations of `owner_name` (and one of
    `long_messages` messages if asked), in batches of 1,000."""
    for start in range(0, conversations, 1000):
        headers, messages, extras = [], [], []
        for n in range(start, min(start + 1000, conversations)):
            cid, created = ObjectId(), T0 + timedelta(seconds=n)
            headers.append(_header(cid, owner_name, n, created, message_count=2))
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
            if n % 100 == 0:
                extras.append((cid, n, created))
        db.conversations.insert_many(headers)
        db.messages.insert_many(messages)
        _seed_extras(db, owner_name, extras)
    if long_messages:
        cid = ObjectId()
        db.conversations.insert_one(
            _header(cid, owner_name, conversations, T0, message_count=long_messages)
        )
        for start in range(0, long_messages, 1000):
            db.messages.insert_many(
                {
                    "conversation_id": cid,
                    "seq": seq,
                    "role": "user" if seq % 2 == 0 else "assistant",
                    "content": f"long message {seq}: " + "dolor sit amet " * 66,
                    "created_at": T0,
                }
                for seq in range(start, min(start + 1000, long_messages))
            )
    db.api_keys.insert_one(
        {"_id": f"digest-{owner_name}", "key_id": owner_name, "owner": owner_name}
    )


def _header(cid: ObjectId, owner_name: str, n: int, created: datetime, *, message_count: int):
    return {
        "_id": cid,
        "owner": owner_name,
        "title": f"Conversation {n}",
        "platform": "telegram",
        "user_id": f"u{n % 100}",
        "chat_id": str(n),
        "created_at": created,
        "updated_at": created,
        "message_count": message_count,
    }


def _seed_extras(db, owner_name: str, extras: list[tuple[ObjectId, int, datetime]]) -> None:
    if not extras:
        return
    db.summaries.insert_many(
        {"conversation_id": cid, "first_seq": 0, "end_seq": 2, "content": "a summary"}
        for cid, _, _ in extras
    )
    db.sessions.insert_many(
        {
            "_id": f"{owner_name}-session-{n}",
            "owner": owner_name,
            "platform": "telegram",
            "chat_id": str(n),
            "user_id": "",
            "conversation_id": str(cid),
            "expires_at": created + timedelta(days=3650),
        }
        for cid, n, created in extras
    )
    db.idempotency_keys.insert_many(
        {
            "_id": f"{owner_name}-record-{n}",
            "state": "done",
            "outcome": {"conversation_id": str(cid)},
            "expires_at": created + timedelta(days=3650),
        }
        for cid, n, created in extras
    )


def measure(operation: str, uri: str, redis_url: str, database: str, path: str) -> dict:
    """Runs one operation through the tool's command line in this process; returns its peaks,
    duration and exit status."""
    environ = {"MONGO_URI": uri, "MONGO_DATABASE": database, "REDIS_URL": redis_url}
    tracemalloc.start()
    started = time.perf_counter()
    if operation == "floor":
        with pymongo.MongoClient(uri) as client:
            client.admin.command("ping")
        status = 0
    elif operation == "export":
        status = owner.main(["export", "--owner", OWNER, "--output", path], environ=environ)
    else:
        status = owner.main(["erase", "--owner", OWNER, "--yes", "--keys"], environ=environ)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    return {
        "status": status,
        "seconds": round(seconds, 2),
        "python_heap_peak_mib": round(peak / 2**20, 2),
        "peak_rss_mib": round(peak_rss_kib() / 1024, 1),
    }


def peak_rss_kib() -> int:
    """Returns this process's peak resident set (VmHWM) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def in_child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.owner_memory", "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result = dict(json.loads(done.stdout))
    if result["status"] != 0:
        raise RuntimeError(f"{args[0]} exited with {result['status']}:\n{done.stderr}")
    if done.stderr.strip():
        result["tool_output"] = done.stderr.strip().splitlines()  # what an operator would see
    return result


def read_export(path: Path) -> tuple[int, int]:
    """Returns the conversations and messages of an export, reading it line by line."""
    conversations = messages = 0
    with path.open("rb") as lines:
        for line in lines:
            messages += len(json.loads(line)["messages"])
            conversations += 1
    return conversations, messages


def run(
    mongo_uri: str,
    redis_url: str,
    *,
    sizes: tuple[int, ...] = SIZES,
    long_messages: int = LONG_MESSAGES,
    scratch: Path,
) -> dict[str, Any]:
    """Measures every size against the servers at `mongo_uri` and `redis_url`; returns the
    rows and the checks. Raises AssertionError if an export is incomplete or the other
    owner lost anything."""
    rows = []
    print(
        f"{'conversations':>13} {'messages':>8}  {'op':<6} {'heap peak':>10} {'peak RSS':>9} "
        f"{'seconds':>8}",
        flush=True,
    )
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri)
    try:
        for size in sizes:
            name = f"owner_bench_{size}"
            client.drop_database(name)
            db = client[name]
            migrations.apply_all(db)
            seed(db, OWNER, size, long_messages=long_messages)
            seed(db, OTHER, OTHER_CONVERSATIONS)
            other = {c: db[c].count_documents({}) for c in ("conversations", "messages")}
            owned = {
                "conversations": size + (1 if long_messages else 0),
                "messages": 2 * size + long_messages,
            }
            out = scratch / f"{OWNER}-{size}.jsonl"
            for op in OPERATIONS:
                row: dict[str, Any] = {"conversations": size, "operation": op}
                row |= in_child(op, mongo_uri, redis_url, name, str(out))
                if op == "export":
                    row["export_bytes"] = out.stat().st_size
                    exported = read_export(out)
                    assert exported == (owned["conversations"], owned["messages"]), exported
                    out.unlink()
                rows.append(row)
                print(
                    f"{size:>13} {owned['messages']:>8}  {op:<6} "
                    f"{row['python_heap_peak_mib']:>6} MiB {row['peak_rss_mib']:>5} MiB "
                    f"{row['seconds']:>8}",
                    flush=True,
                )
            left = {c: db[c].count_documents({}) for c in ("conversations", "messages")}
            assert left == {
                "conversations": other["conversations"] - owned["conversations"],
                "messages": other["messages"] - owned["messages"],
            }, left
            assert db.conversations.count_documents({"owner": OTHER}) == OTHER_CONVERSATIONS
            client.drop_database(name)
    finally:
        client.close()
    return {
        "owner_conversations": list(sizes),
        "messages_per_conversation": 2,
        "long_conversation_messages": long_messages,
        "other_owner_conversations": OTHER_CONVERSATIONS,
        "export_batch_size": 500,
        "erase_batch_size": 50,
        "checks": "every export held all the owner's conversations and messages; after each "
        "erase the owner had no conversation or message left and the other owner all of theirs",
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.owner_memory", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--long-messages", type=int, default=LONG_MESSAGES)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--child", nargs=5, metavar=("OP", "URI", "REDIS", "DB", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with MongoServer(root / "mongo") as mongo, RedisServer(root / "redis") as redis_server:
            result = run(
                mongo.uri,
                redis_server.url,
                sizes=tuple(args.sizes),
                long_messages=args.long_messages,
                scratch=root,
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"result": result}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
