"""`python -m migrations up|down|status`: runs the migrations against MONGO_URI/MONGO_DATABASE,
else against the dev stack that `make run` or `make servers` started."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from chat_service.cli_mongo import MongoUnreachable, cli_database, first_error
from chat_service.config import SettingsError
from chat_service.core.errors import StorageUnavailable
from migrations.runner import Db, apply_all, rollback_last, status


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Runs one command and prints what it did; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m migrations", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    command = parser.parse_args(argv).command
    try:
        with cli_database(os.environ if environ is None else environ) as cli:
            try:
                _run(command, cli.database)
            except StorageUnavailable as exc:
                where = f"database {cli.settings.mongo_database!r}"
                print(f"error: {exc} ({where}): {first_error(exc.__cause__)}", file=sys.stderr)
                return 1
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MongoUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(command: str, db: Db) -> None:
    if command == "up":
        applied = apply_all(db)
        for migration in applied:
            print(f"applied {migration}")
        if not applied:
            print("nothing to apply: up to date")
    elif command == "down":
        reverted = rollback_last(db)
        print(f"rolled back {reverted}" if reverted else "nothing to roll back")
    else:
        for entry in status(db):
            when = entry.applied_at.isoformat() if entry.applied_at else "pending"
            print(f"{entry.migration}: {when}")


if __name__ == "__main__":
    sys.exit(main())
