"""`python -m migrations up|down|status`: runs the migrations against MONGO_URI/MONGO_DATABASE."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.core.errors import StorageUnavailable
from migrations.runner import apply_all, rollback_last, status

_DEFAULT_URI = "mongodb://127.0.0.1:27017"
_DEFAULT_DATABASE = "acai"
_TIMEOUT_MS = 5000


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Runs one command and prints what it did; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m migrations", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    command = parser.parse_args(argv).command
    env = os.environ if environ is None else environ
    uri = env.get("MONGO_URI") or env.get("MONGODB_URI") or _DEFAULT_URI
    database_name = env.get("MONGO_DATABASE") or _DEFAULT_DATABASE
    client = connect_mongo(uri, timeout_ms=_TIMEOUT_MS)
    db = client[database_name]
    try:
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
    except StorageUnavailable as exc:
        print(f"error: {exc} (database {database_name!r}): {exc.__cause__}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
