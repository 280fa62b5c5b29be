"""Restores a backup in mongodump's layout (ours or mongodump's), streaming, then checks the counts.

`python -m ops.restore BACKUP_PATH (--drop | --merge) [--db NAME] [--batch-size 1000]` restores
into MONGO_DATABASE (or `--db`) of MONGO_URI (else of the running dev stack). BACKUP_PATH is a
backup's root or its `<db>/`.

--drop   each collection in the backup is dropped, then restored: it ends up exactly as backed up.
         Collections that are not in the backup are left alone.
--merge  documents of the backup whose _id (or another unique key) is already there are skipped,
         the others inserted: nothing present is changed or removed.
"""

from __future__ import annotations

import argparse
import enum
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pymongo.errors import PyMongoError

from chat_service.cli_mongo import MongoUnreachable, cli_database, first_error
from chat_service.config import SettingsError
from ops.collection_restore import CollectionRestore, Db, restore_collection, restore_view
from ops.dump_layout import (
    BSON_SUFFIX,
    METADATA_SUFFIX,
    CollectionMetadata,
    DumpFormatError,
    Manifest,
    collections_in,
    metadata_path,
    read_metadata,
)

DEFAULT_BATCH_SIZE = 1000


class RestoreMode(enum.Enum):
    """What happens to a collection that already exists: see the module docstring."""

    DROP = "drop"
    MERGE = "merge"


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """A finished restore: where from, where to, and each collection's counts."""

    database: str
    source: Path
    collections: tuple[CollectionRestore, ...]

    @property
    def verified(self) -> bool:
        """True when every collection holds what the backup holds (see CollectionRestore)."""
        return all(c.verified for c in self.collections)


def find_database_dir(path: Path, *, database: str) -> Path:
    """Returns the directory of `.bson` / `.metadata.json` files that `path` points to: `path`
    itself, else its subdirectory named `database`, else its only subdirectory holding some.

    Raises DumpFormatError when there is no such directory or the choice is ambiguous.
    """
    if not path.is_dir():
        raise DumpFormatError(f"{path} is not a directory")
    if _holds_collections(path):
        return path
    candidates = sorted(p for p in path.iterdir() if p.is_dir() and _holds_collections(p))
    named = [p for p in candidates if p.name == database]
    if named:
        return named[0]
    if len(candidates) == 1:
        return candidates[0]
    found = ", ".join(p.name for p in candidates) or "none"
    raise DumpFormatError(f"{path}: cannot tell which database to restore (found: {found})")


def restore_database(
    db: Db, source: Path, *, mode: RestoreMode, batch_size: int = DEFAULT_BATCH_SIZE
) -> RestoreReport:
    """Restores every collection of the database directory `source` into `db`, then its views,
    and returns the counts. Documents are read one at a time from the `.bson` files and
    inserted in batches of `batch_size`, so memory stays flat. Indexes are created after the
    documents. Counts are checked against the manifest next to `source` when there is one.

    Raises DumpFormatError for a damaged backup (a truncated `.bson` file, a count that
    differs from the manifest) and PyMongoError when the database fails; the collection being
    restored is then incomplete, and running the restore again with --drop repairs it.
    """
    manifest = Manifest.read(source.parent)
    expected = manifest.documents if manifest else {}
    metadata = [_metadata(source, name) for name in collections_in(source)]
    restored = [
        restore_collection(
            db,
            source,
            meta,
            drop=mode is RestoreMode.DROP,
            batch_size=batch_size,
            expected_documents=expected.get(meta.name),
        )
        for meta in metadata
        if not meta.is_view
    ]
    restored += [
        restore_view(db, meta, drop=mode is RestoreMode.DROP) for meta in metadata if meta.is_view
    ]
    return RestoreReport(database=db.name, source=source, collections=tuple(restored))


def _metadata(directory: Path, name: str) -> CollectionMetadata:
    path = metadata_path(directory, name)
    # A .bson file without metadata (possible in hand-made dumps) restores with no indexes.
    return read_metadata(path) if path.is_file() else CollectionMetadata(name=name)


def _holds_collections(directory: Path) -> bool:
    return any(
        p.name.endswith((BSON_SUFFIX, METADATA_SUFFIX)) for p in directory.iterdir() if p.is_file()
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs a restore and prints each collection's counts; returns the process exit status
    (0 only when every count matches)."""
    parser = argparse.ArgumentParser(
        prog="python -m ops.restore",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", type=Path, help="a backup's directory (or its <db>/ inside)")
    modes = parser.add_mutually_exclusive_group(required=True)
    modes.add_argument("--drop", dest="mode", action="store_const", const=RestoreMode.DROP)
    modes.add_argument("--merge", dest="mode", action="store_const", const=RestoreMode.MERGE)
    parser.add_argument("--db", help="database to restore into (default: MONGO_DATABASE)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args(argv)
    try:
        with cli_database(os.environ) as cli:
            database = args.db or cli.settings.mongo_database
            source = find_database_dir(args.path, database=database)
            print(f"restoring {source} into database {database!r} ({args.mode.value})")
            report = restore_database(
                cli.client[database], source, mode=args.mode, batch_size=args.batch_size
            )
    except SettingsError as exc:
        print(f"restore: error: {exc}", file=sys.stderr)
        return 2
    except MongoUnreachable as exc:
        print(f"restore: error: {exc}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"restore: failed: {first_error(exc)}", file=sys.stderr)
        return 1
    except (DumpFormatError, OSError) as exc:
        print(f"restore: failed: {exc}", file=sys.stderr)
        return 1
    for c in report.collections:
        print(f"  {'ok      ' if c.verified else 'MISMATCH'} {c.describe()}")
    if not report.verified:
        print("restore: document counts do not match the backup", file=sys.stderr)
        return 1
    print(f"restore verified: {len(report.collections)} collections")
    return 0


if __name__ == "__main__":
    sys.exit(main())
