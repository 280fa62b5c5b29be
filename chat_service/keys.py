"""`python -m chat_service.keys create|list|revoke|budget|instructions`: manages API keys,
their budgets (see chat_service.budget_commands) and the default instructions of each key's
owner, in MongoDB.

Uses MONGO_URI and MONGO_DATABASE like the service, else the dev stack that `make run` or
`make servers` started (chat_service.cli_mongo). `create` prints the new key once, on standard
output (only its SHA-256 digest is stored); keep it then, it cannot be shown again.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.adapters.mongo.budgets import MongoBudgetStore
from chat_service.adapters.mongo.owner_settings import MongoOwnerSettingsStore
from chat_service.budget_commands import add_budget_commands
from chat_service.cli_mongo import MongoUnreachable, cli_database, first_error
from chat_service.config import Settings, SettingsError
from chat_service.core.api_keys import key_digest, key_id, new_api_key
from chat_service.core.errors import InvalidRequest, StorageUnavailable
from chat_service.core.instructions import StandingInstructions
from chat_service.ports.api_keys import ApiKeyStore
from chat_service.ports.owner_settings import OwnerSettingsStore


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Runs one command; returns the process exit status (0 ok, 1 failure, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        env = os.environ if environ is None else environ
        with cli_database(env) as cli:
            if getattr(args, "run", None) is instructions:
                args.max_chars = Settings.from_env(env).max_instructions_chars
                owners = MongoOwnerSettingsStore(cli.database)
                return int(instructions(owners, args, lambda: datetime.now(UTC)))
            store = MongoApiKeyStore(cli.database)
            if hasattr(args, "budget_run"):
                budgets = MongoBudgetStore(cli.database)
                return int(args.budget_run(budgets, store, args, datetime.now(UTC)))
            return int(args.run(store, args, lambda: datetime.now(UTC)))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MongoUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except StorageUnavailable as exc:
        print(f"error: {exc}: {first_error(exc.__cause__)}", file=sys.stderr)
        return 1


def create(store: ApiKeyStore, args: argparse.Namespace, now: Callable[[], datetime]) -> int:
    """Creates a key for `args.owner`; prints the key on stdout and its id on stderr."""
    owner = args.owner.strip()
    if not owner:
        print("error: --owner must not be blank", file=sys.stderr)
        return 2
    key = new_api_key()
    record = store.add(digest=key_digest(key), owner=owner, name=args.name, now=now())
    print(key)
    print(
        f"created key {record.key_id} for owner {record.owner!r}; it is shown only this once",
        file=sys.stderr,
    )
    return 0


def list_keys(store: ApiKeyStore, args: argparse.Namespace, now: Callable[[], datetime]) -> int:
    """Prints one line per key: id, owner, name, created, revoked (or 'active')."""
    records = store.list_keys(owner=args.owner)  # read whole before the header is printed
    print(f"{'KEY ID':<14}{'OWNER':<20}{'NAME':<20}{'CREATED':<22}STATUS")
    for record in records:
        status = f"revoked {record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "active"
        created = f"{record.created_at:%Y-%m-%d %H:%M:%S}"
        print(f"{record.key_id:<14}{record.owner:<20}{record.name:<20}{created:<22}{status}")
    return 0


def revoke(store: ApiKeyStore, args: argparse.Namespace, now: Callable[[], datetime]) -> int:
    """Revokes the key with id `args.key_id` (a key itself is accepted too)."""
    wanted = args.key_id.strip()
    if wanted.startswith("acai_"):
        wanted = key_id(key_digest(wanted))
    record = store.revoke(wanted, now=now())
    if record is None:
        print(f"error: no key with id {wanted!r}", file=sys.stderr)
        return 1
    print(f"revoked key {record.key_id} of owner {record.owner!r}")
    return 0


def instructions(
    store: OwnerSettingsStore, args: argparse.Namespace, now: Callable[[], datetime]
) -> int:
    """Prints the owner's default instructions, or sets them (`--set TEXT`) or removes
    them (`--clear`). They apply to the owner's conversations that have none of their own;
    MAX_INSTRUCTIONS_CHARS limits them, as in the API."""
    owner = args.owner.strip()
    if not owner:
        print("error: --owner must not be blank", file=sys.stderr)
        return 2
    if args.set is None and not args.clear:
        print(store.instructions(owner))
        return 0
    try:
        checked = StandingInstructions(store, max_chars=args.max_chars).set_owner_default(
            owner, "" if args.clear else args.set, now=now()
        )
    except InvalidRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{'set' if checked else 'removed'} the default instructions of {owner!r}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chat_service.keys", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    make = commands.add_parser("create", help="create a key and print it (once)")
    make.add_argument("--owner", required=True, help="the owner the key acts for")
    make.add_argument("--name", default="", help="a label, e.g. where the key is used")
    make.set_defaults(run=create)
    show = commands.add_parser("list", help="list keys (never the keys themselves)")
    show.add_argument("--owner", default=None, help="only this owner's keys")
    show.set_defaults(run=list_keys)
    drop = commands.add_parser("revoke", help="revoke a key by its id")
    drop.add_argument("key_id", help="the id shown by create and list")
    drop.set_defaults(run=revoke)
    add_budget_commands(commands)
    told = commands.add_parser(
        "instructions", help="show, set or clear an owner's default instructions"
    )
    told.add_argument("--owner", required=True, help="the owner whose conversations they guide")
    change = told.add_mutually_exclusive_group()
    change.add_argument("--set", metavar="TEXT", default=None, help="the new instructions")
    change.add_argument("--clear", action="store_true", help="remove them")
    told.set_defaults(run=instructions)
    return parser


if __name__ == "__main__":
    sys.exit(main())
