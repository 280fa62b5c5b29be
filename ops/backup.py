"""Backs up every collection of a database, streaming, in mongodump's layout (no mongodump needed).

`python -m ops.backup [--out-dir backups] [--name NAME] [--batch-size 1000]` dumps the database of
MONGO_URI / MONGO_DATABASE (else of the running dev stack) into `<out-dir>/backup-<UTC time>/`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from bson.binary import Binary
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from chat_service.cli_mongo import MongoUnreachable, cli_database, first_error
from chat_service.config import SettingsError
from ops.dump_layout import (
    VIEW,
    CollectionMetadata,
    Manifest,
    bson_path,
    count_documents,
    metadata_path,
    sync_and_close,
)

Db = Database[dict[str, Any]]
DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class CollectionDump:
    """One collection as written: its documents, their BSON size, its indexes."""

    name: str
    type: str
    documents: int
    bytes: int
    indexes: int


@dataclass(frozen=True, slots=True)
class DumpReport:
    """A finished backup: its root directory and what it holds."""

    database: str
    root: Path
    collections: tuple[CollectionDump, ...]


def dump_database(
    db: Db,
    root: Path,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DumpReport:
    """Writes every collection and view of `db` (but `system.*`) with its indexes and options
    to `root/<db name>/`, plus the manifest, and returns what it wrote.

    Documents travel as the server's raw BSON batches of `batch_size`, straight to the file:
    memory stays flat however large the collections are. Collections are read one after the
    other, each in _id order, so writes made meanwhile may or may not be in the backup. The
    backup is built in `<root>.partial` and renamed to `root` once complete and on disk: a
    `root` that exists is always whole. Raises FileExistsError if `root` exists and PyMongoError
    when the database fails.
    """
    if root.exists():
        raise FileExistsError(f"{root} already exists")
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # an earlier, interrupted attempt
    directory = partial / db.name
    directory.mkdir(parents=True)
    written = []
    for info in sorted(db.list_collections(), key=lambda info: str(info["name"])):
        if str(info["name"]).startswith("system."):
            continue
        written.append(_dump_collection(db, info, directory, batch_size=batch_size))
    documents = {c.name: c.documents for c in written if c.type != VIEW}
    Manifest(database=db.name, created_at=clock(), documents=documents).write(partial)
    partial.rename(root)
    return DumpReport(database=db.name, root=root, collections=tuple(written))


def _dump_collection(
    db: Db, info: Mapping[str, Any], directory: Path, *, batch_size: int
) -> CollectionDump:
    name, kind = str(info["name"]), str(info.get("type", "collection"))
    options = dict(info.get("options") or {})
    uuid = (info.get("info") or {}).get("uuid")
    metadata = CollectionMetadata(
        name=name,
        type=kind,
        options=options,
        indexes=[] if kind == VIEW else _index_specs(db[name]),
        uuid=bytes(uuid).hex() if isinstance(uuid, Binary) else "",
    )
    metadata_path(directory, name).write_text(metadata.to_json(), encoding="utf-8")
    if kind == VIEW:
        return CollectionDump(name, kind, documents=0, bytes=0, indexes=0)
    # A capped collection keeps insertion order; any other is read along the _id index.
    order = None if options.get("capped") else [("_id", 1)]
    documents = size = 0
    out = bson_path(directory, name).open("wb")
    try:
        batches = db[name].find_raw_batches({}, sort=order, batch_size=batch_size)
        for raw in batches:
            batch = cast(bytes, raw)  # raw batches are bytes, whatever the collection's type
            out.write(batch)
            documents += count_documents(batch)
            size += len(batch)
    finally:
        sync_and_close(out)
    return CollectionDump(name, kind, documents, size, indexes=len(metadata.indexes))


def _index_specs(collection: Collection[dict[str, Any]]) -> list[dict[str, Any]]:
    # "ns" is obsolete since MongoDB 4.4 and names the old database: restores drop it anyway.
    return [{k: v for k, v in spec.items() if k != "ns"} for spec in collection.list_indexes()]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs a backup and prints what it wrote; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m ops.backup", description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=Path("backups"))
    parser.add_argument("--name", help="directory name (default: backup-YYYYmmdd-HHMMSS, UTC)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args(argv)
    name = args.name or datetime.now(UTC).strftime("backup-%Y%m%d-%H%M%S")
    try:
        with cli_database(os.environ) as cli:
            report = dump_database(cli.database, args.out_dir / name, batch_size=args.batch_size)
    except SettingsError as exc:
        print(f"backup: error: {exc}", file=sys.stderr)
        return 2
    except MongoUnreachable as exc:
        print(f"backup: error: {exc}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"backup: failed: {first_error(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"backup: failed: {exc}", file=sys.stderr)
        return 1
    for c in report.collections:
        what = "view" if c.type == VIEW else f"{c.documents} documents, {c.indexes} indexes"
        print(f"  {report.database}.{c.name}: {what}")
    print(f"backup written to {report.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
