"""`python -m ops.owner export|erase --owner X`: one owner's data, exported or erased, streaming.

    export --owner X [--output FILE|-]   every conversation with its messages, one JSON line
                                         each (shape: ops/owner_export.py), to standard output
                                         or to FILE (written as FILE.partial, renamed when whole)
    erase --owner X [--keys] [--yes]     everything MongoDB holds for the owner (the list:
                                         ops/owner_erasure.py), with --keys its API keys too,
                                         then a new response-cache generation for the owner in
                                         Redis if Redis answers. Asks first on a terminal;
                                         anywhere else it needs --yes. Safe to run again.

Uses MONGO_URI, MONGO_DATABASE and REDIS_URL like the service, else the servers of the running
`make run` or `make servers` (chat_service.cli_mongo). Counts go to standard error.
Exit status: 0 done, 1 failed (or not confirmed), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from pymongo.database import Database
from pymongo.errors import ConnectionFailure, PyMongoError

from chat_service.adapters.redis.cache_generations import RedisCacheGenerations
from chat_service.adapters.redis.client import (
    REDIS_ERRORS,
    SyncRedis,
    connect_redis,
    is_cluster_url,
    parse_cluster_url,
)
from chat_service.adapters.redis.session_cache import RedisSessionCache
from chat_service.cli_mongo import MongoUnreachable, cli_database
from chat_service.config import Settings, SettingsError
from chat_service.core.availability import RedisAvailability
from chat_service.core.errors import Unavailable
from ops import owner_erasure, owner_export
from ops.dump_layout import sync_and_close
from ops.owner_erasure import ErasureReport, OwnerErasure
from ops.owner_export import ExportReport, export_owner

Db = Database[dict[str, Any]]
PROG = "python -m ops.owner"


class Refused(Exception):
    """The command must not run as asked; the message says why (exit status 2)."""


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Runs one command; returns the process exit status (0 done, 1 failed, 2 usage)."""
    args = _parser().parse_args(argv)
    if not args.owner.strip():
        return _fail("error: --owner must not be blank", status=2)
    if args.batch < 1:
        return _fail("error: --batch-size must be at least 1", status=2)
    try:
        with cli_database(os.environ if environ is None else environ) as cli:
            if args.command == "export":
                return _export(cli.database, args)
            return _erase(cli.database, cli.settings, args, sys.stdin if stdin is None else stdin)
    except SettingsError as exc:
        return _fail(f"error: {exc}", status=2)
    except MongoUnreachable as exc:
        return _fail(f"error: {exc}")
    except Refused as exc:
        return _fail(str(exc), status=2)
    except ConnectionFailure as exc:
        return _fail(f"failed: MongoDB is unreachable: {_one_line(exc)}")
    except (PyMongoError, OSError) as exc:
        return _fail(f"failed: {_one_line(exc)}")


def _export(database: Db, args: argparse.Namespace) -> int:
    if args.output == "-":
        try:
            report = export_owner(database, args.owner, sys.stdout.buffer, batch_size=args.batch)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            return _fail("failed: standard output was closed before the export ended")
        where = "standard output"
    else:
        report = export_to_file(database, args.owner, Path(args.output), batch_size=args.batch)
        where = args.output
    print(_exported(report, where), file=sys.stderr)
    return 0


def export_to_file(database: Db, owner: str, path: Path, *, batch_size: int) -> ExportReport:
    """Exports `owner` into a new file at `path` (readable by its owner only): written as
    `<path>.partial`, synced and renamed once whole, removed if the export fails. Raises
    FileExistsError if `path` exists, PyMongoError and OSError."""
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    partial = path.with_name(path.name + ".partial")
    out = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
    try:
        report = export_owner(database, owner, out, batch_size=batch_size)
        sync_and_close(out)
    except BaseException:
        out.close()
        partial.unlink(missing_ok=True)
        raise
    partial.rename(path)
    return report


def _exported(report: ExportReport, where: str) -> str:
    return (
        f"exported {_count(report.conversations, 'conversation')} with "
        f"{_count(report.messages, 'message')} ({report.bytes} bytes) of owner {report.owner!r} "
        f"to {where}"
    )


def _erase(database: Db, settings: Settings, args: argparse.Namespace, stdin: TextIO) -> int:
    owner = args.owner
    if not args.yes and not stdin.isatty():
        raise Refused("error: erase needs --yes when standard input is not a terminal")
    keys = database["api_keys"].count_documents({"owner": owner})
    if not args.yes:
        conversations = database["conversations"].count_documents({"owner": owner})
        if not _confirmed(owner, conversations, keys if args.keys else 0, stdin):
            return _fail("not confirmed: nothing was erased")
    client, why_not = _redis(settings)
    try:
        availability = RedisAvailability()
        cache = None if client is None else RedisSessionCache(client, availability=availability)
        erasure = OwnerErasure(database, session_cache=cache, batch_size=args.batch)
        report = erasure.erase(owner, api_keys=args.keys)
        print(_erased(report, kept_keys=0 if args.keys else keys), file=sys.stderr)
        if client is not None:
            why_not = _new_cache_generation(client, availability, owner)
    finally:
        if client is not None:
            client.close()
    if why_not:
        print(
            f"warning: {why_not}: the owner's cached answers were not put out of reach; "
            "they expire after CACHE_TTL_HOURS, or run the erase again once Redis answers",
            file=sys.stderr,
        )
    else:
        print(
            "response cache: the owner has a new generation, its cached answers are out of reach",
            file=sys.stderr,
        )
    return 0


def _new_cache_generation(client: SyncRedis, availability: RedisAvailability, owner: str) -> str:
    """Bumps the owner's cache generation; returns "" or why it could not."""
    try:
        RedisCacheGenerations(client, availability=availability).bump(owner)
    except Unavailable as exc:
        return f"Redis failed ({_one_line(exc.__cause__ or exc)})"
    return ""


def _confirmed(owner: str, conversations: int, keys: int, stdin: TextIO) -> bool:
    what = _count(conversations, "conversation") + (f", {_count(keys, 'API key')}" if keys else "")
    sys.stderr.write(
        f"This erases everything of owner {owner!r} ({what} now) and cannot be undone.\n"
        "Type the owner to confirm: "
    )
    sys.stderr.flush()
    return stdin.readline().strip() == owner.strip()


def _erased(report: ErasureReport, *, kept_keys: int) -> str:
    kept = f"  ({kept_keys} kept: --keys erases them)" if kept_keys else ""
    lines = [f"erased owner {report.owner!r}:"]
    for name, count in report.counts().items():
        lines.append(f"  {name:<22}{count:>9}" + (kept if name == "api_keys" else ""))
    return "\n".join(lines)


def _where(url: str) -> str:
    """Returns host:port of a server, or the seeds of a cluster, without credentials."""
    if is_cluster_url(url):
        return "the cluster " + ",".join(f"{h}:{p}" for h, p in parse_cluster_url(url).seeds)
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else parts.path


def _redis(settings: Settings) -> tuple[SyncRedis | None, str]:
    """Returns a client if Redis answers a ping, else None and why not."""
    try:
        where = _where(settings.redis_url)
        client = connect_redis(settings.redis_url, timeout_s=settings.redis_timeout_s)
    except ValueError as exc:
        return None, f"REDIS_URL is not usable ({_one_line(exc)})"
    except REDIS_ERRORS as exc:
        return None, f"Redis at {where} is unreachable ({_one_line(exc)})"
    try:
        client.ping()
    except REDIS_ERRORS as exc:
        client.close()
        return None, f"Redis at {where} is unreachable ({_one_line(exc)})"
    return client, ""


def _one_line(exc: BaseException) -> str:
    """The gist of an error on one line: pymongo's server selection errors go on with the
    whole topology, which says nothing more to an operator."""
    text = " ".join(str(exc).split())
    for tail in (", Timeout: ", " (configured timeouts: "):
        text = text.split(tail, 1)[0]
    return text[:300] or type(exc).__name__


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _fail(message: str, *, status: int = 1) -> int:
    print(f"owner: {message}", file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    export = commands.add_parser("export", help="write the owner's conversations as JSON Lines")
    export.add_argument("--owner", required=True, help="the owner, as its API keys name it")
    export.add_argument("--output", default="-", help="a new file, or - for stdout (default)")
    export.add_argument(
        "--batch-size", dest="batch", type=int, default=owner_export.DEFAULT_BATCH_SIZE
    )
    erase = commands.add_parser("erase", help="erase everything of the owner")
    erase.add_argument("--owner", required=True, help="the owner, as its API keys name it")
    erase.add_argument("--keys", action="store_true", help="erase the owner's API keys too")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument(
        "--batch-size", dest="batch", type=int, default=owner_erasure.DEFAULT_BATCH_SIZE
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
