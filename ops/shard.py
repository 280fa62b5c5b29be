"""Shards the service's collections on a sharded cluster; on a replica set or a standalone
server it changes nothing.

`python -m ops.shard [--dry-run]` reads MONGO_URI / MONGO_DATABASE (else the running dev stack),
asks the server `hello`, and only when it is a mongos (`msg: "isdbgrid"`) runs, in order:
`enableSharding` of the database, then for each collection of SHARD_KEYS `createIndexes` (the
index behind its shard key) and `shardCollection`. Every step is idempotent: a collection
already sharded on the same key is left as it is; one sharded on another key is an error. With
`--dry-run` it prints the commands instead. The shard keys and why: docs/operations.md,
"Scaling out".
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from chat_service.cli_mongo import MongoUnreachable, cli_database, first_error
from chat_service.config import SettingsError

PROG = "python -m ops.shard"
KeySpec = tuple[tuple[str, int | str], ...]


@dataclass(frozen=True, slots=True)
class ShardKey:
    """A collection and the key it is sharded on, in the key's field order."""

    collection: str
    key: KeySpec

    @property
    def index_name(self) -> str:
        """The name of the index behind the key (e.g. `owner_1__id_1`, as the shell names it)."""
        return "_".join(f"{field}_{order}" for field, order in self.key)


# Owner-keyed collections are read by (owner, _id) or listed by owner: the owner targets one
# shard (an owner's documents stay together, so its listing and most of a turn's transaction
# touch one shard), and _id splits a large owner into chunks. Message-keyed ones are read by
# conversation id: hashing spreads the newest conversations (ObjectIds grow) over every shard
# instead of writing them all to the last chunk. Not sharded: api_keys, budgets, prompts,
# turn_locks and schema_migrations, small collections whose uniqueness rests on `_id` (or
# `key_id`) alone.
SHARD_KEYS: tuple[ShardKey, ...] = (
    ShardKey("conversations", (("owner", 1), ("_id", 1))),
    ShardKey("deleted_conversations", (("owner", 1), ("_id", 1))),
    ShardKey("sessions", (("owner", 1), ("_id", 1))),
    ShardKey("idempotency_keys", (("owner", 1), ("_id", 1))),
    ShardKey("usage", (("owner", 1), ("_id", 1))),
    ShardKey("messages", (("conversation_id", "hashed"),)),
    ShardKey("summaries", (("conversation_id", "hashed"),)),
    # Ended turns are read and written by turn id alone; the id being the key keeps it unique.
    ShardKey("turns", (("_id", "hashed"),)),
)

_ALREADY_INITIALIZED = 23  # shardCollection on a collection sharded on another key


class NotShardable(Exception):
    """The database holds documents the shard keys cannot place yet; the message says which."""


def unowned_idempotency_records(database: Database[dict[str, Any]]) -> bool:
    """Returns whether `idempotency_keys` still holds records stored before records named
    their owner (they expire within IDEMPOTENCY_TTL_HOURS, or are given their owner when
    their key is used again)."""
    return bool(
        database["idempotency_keys"].count_documents({"owner": {"$exists": False}}, limit=1)
    )


@dataclass(frozen=True, slots=True)
class AdminCommand:
    """A command and the database it runs against."""

    database: str
    command: dict[str, Any]

    def __str__(self) -> str:
        name, value = next(iter(self.command.items()))
        rest = {k: v for k, v in self.command.items() if k != name}
        return (
            f"{self.database}: {name} {value!r} {rest}"
            if rest
            else f"{self.database}: {name} {value!r}"
        )


def topology(hello: Mapping[str, Any]) -> str:
    """Returns "sharded cluster" (a mongos), "replica set" or "standalone" from a `hello` reply."""
    if hello.get("msg") == "isdbgrid":
        return "sharded cluster"
    return "replica set" if hello.get("setName") else "standalone"


def sharding_commands(database: str, keys: Sequence[ShardKey] = SHARD_KEYS) -> list[AdminCommand]:
    """Returns the commands that shard `database`'s collections on `keys`, in the order they
    must run: enableSharding, then each collection's shard-key index and shardCollection."""
    commands = [AdminCommand("admin", {"enableSharding": database})]
    for shard_key in keys:
        key = dict(shard_key.key)
        commands.append(
            AdminCommand(
                database,
                {
                    "createIndexes": shard_key.collection,
                    "indexes": [{"key": key, "name": shard_key.index_name}],
                },
            )
        )
        commands.append(
            AdminCommand(
                "admin", {"shardCollection": f"{database}.{shard_key.collection}", "key": key}
            )
        )
    return commands


@dataclass(frozen=True, slots=True)
class ShardReport:
    """What `shard` found and did."""

    topology: str
    commands: tuple[AdminCommand, ...] = ()


def shard(
    client: MongoClient[dict[str, Any]],
    database: str,
    *,
    dry_run: bool = False,
    on_command: Callable[[AdminCommand], None] = lambda command: None,
) -> ShardReport:
    """Shards `database` when `client` talks to a mongos; returns what it ran (or, with
    `dry_run`, would run). On a replica set or standalone server it runs nothing.

    Raises NotShardable (before any command) while idempotency records without an owner
    remain, OperationFailure when the cluster refuses a command (e.g. a collection sharded on
    another key), PyMongoError when it cannot be reached.
    """
    kind = topology(client.admin.command("hello"))
    if kind != "sharded cluster":
        return ShardReport(kind)
    if unowned_idempotency_records(client[database]):
        raise NotShardable(
            "idempotency_keys holds records without an owner (stored by an older version);"
            " they expire within IDEMPOTENCY_TTL_HOURS (24 h by default): run this again then"
        )
    commands = sharding_commands(database)
    for command in commands:
        on_command(command)
        if not dry_run:
            client[command.database].command(command.command)
    return ShardReport(kind, tuple(commands))


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Shards the configured database if it lives on a sharded cluster; returns the exit status."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    args = parser.parse_args(argv)
    try:
        with cli_database(os.environ if environ is None else environ) as cli:
            name = cli.settings.mongo_database
            verb = "would run" if args.dry_run else "ran"
            report = shard(
                cli.client,
                name,
                dry_run=args.dry_run,
                on_command=lambda command: print(f"{verb} {command}"),
            )
    except SettingsError as exc:
        return _fail(str(exc), status=2)
    except (MongoUnreachable, NotShardable) as exc:
        return _fail(str(exc))
    except OperationFailure as exc:
        hint = (
            " (a collection is sharded on another key)" if exc.code == _ALREADY_INITIALIZED else ""
        )
        return _fail(f"the cluster refused a command{hint}: {first_error(exc)}")
    except PyMongoError as exc:
        return _fail(f"MongoDB failed: {first_error(exc)}")
    if not report.commands:
        print(f"nothing to do: database {name!r} is on a {report.topology}, not a sharded cluster")
    else:
        done = "would be sharded" if args.dry_run else "sharded"
        print(f"database {name!r}: {len(SHARD_KEYS)} collections {done}")
    return 0


def _fail(message: str, *, status: int = 1) -> int:
    print(f"shard: error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
