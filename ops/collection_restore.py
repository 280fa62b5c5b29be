"""Restores one collection or view from its backup files: options, documents, indexes, counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import bson
from bson.codec_options import CodecOptions
from bson.errors import InvalidBSON
from bson.raw_bson import RawBSONDocument
from bson.son import SON
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from ops.dump_layout import VIEW, CollectionMetadata, DumpFormatError, bson_path, scan_bson_file

Db = Database[dict[str, Any]]

_DUPLICATE_KEY = 11000
_MAX_BATCH_BYTES = 8 * 1024 * 1024  # well under the 48 MB of one insert message
# Raw documents go back byte for byte: same field order, same types, no decode and re-encode.
_RAW = CodecOptions(document_class=RawBSONDocument)


@dataclass(frozen=True, slots=True)
class CollectionRestore:
    """The counts of one restored collection (all zero for a view)."""

    name: str
    type: str
    in_backup: int
    inserted: int
    already_present: int
    now_holds: int
    indexes: int
    dropped: bool

    @property
    def verified(self) -> bool:
        """True when every document of the backup was inserted or already there and the
        collection now holds exactly those (after a drop) or at least as many (after a merge)."""
        if self.type == VIEW:
            return True
        if self.inserted + self.already_present != self.in_backup:
            return False
        if self.dropped:
            return self.now_holds == self.in_backup
        return self.now_holds >= self.in_backup

    def describe(self) -> str:
        """Returns a one-line account of the counts."""
        if self.type == VIEW:
            return f"{self.name}: view"
        return (
            f"{self.name}: {self.in_backup} in backup, {self.inserted} inserted, "
            f"{self.already_present} already present, {self.now_holds} now, "
            f"{self.indexes} indexes"
        )


def restore_collection(
    db: Db,
    directory: Path,
    meta: CollectionMetadata,
    *,
    drop: bool,
    batch_size: int,
    expected_documents: int | None,
) -> CollectionRestore:
    """Restores `meta.name` from `directory` into `db` and returns its counts.

    The `.bson` file is checked whole (and against `expected_documents`, when given) before the
    collection is touched, so a damaged backup never costs the data in place. With `drop` the
    collection is dropped first; otherwise documents whose unique keys are already present are
    counted and skipped. Raises DumpFormatError or PyMongoError.
    """
    path = bson_path(directory, meta.name)
    in_backup = scan_bson_file(path) if path.is_file() else 0
    if expected_documents is not None and expected_documents != in_backup:
        raise DumpFormatError(
            f"{path}: holds {in_backup} documents, the backup's manifest says {expected_documents}"
        )
    collection = db[meta.name]
    if drop:
        collection.drop()
    if not db.list_collection_names(filter={"name": meta.name}):
        db.command("create", meta.name, **meta.options)
    inserted = already_present = 0
    if path.is_file():
        with path.open("rb") as file:
            for batch in _batches(_documents(file, path), batch_size=batch_size):
                added, skipped = _insert(collection, batch, merge=not drop)
                inserted += added
                already_present += skipped
    _create_indexes(db, meta)
    return CollectionRestore(
        name=meta.name,
        type=meta.type,
        in_backup=in_backup,
        inserted=inserted,
        already_present=already_present,
        now_holds=collection.count_documents({}),
        indexes=len(meta.indexes),
        dropped=drop,
    )


def restore_view(db: Db, meta: CollectionMetadata, *, drop: bool) -> CollectionRestore:
    """Creates the view `meta` describes (after dropping one of that name, with `drop`)."""
    exists = bool(db.list_collection_names(filter={"name": meta.name}))
    if exists and drop:
        db.drop_collection(meta.name)
    if not exists or drop:
        db.command("create", meta.name, **meta.options)
    return CollectionRestore(meta.name, VIEW, 0, 0, 0, 0, 0, dropped=drop)


def _documents(file: BinaryIO, path: Path) -> Iterator[RawBSONDocument]:
    try:
        yield from bson.decode_file_iter(file, codec_options=_RAW)
    except InvalidBSON as exc:
        raise DumpFormatError(f"{path}: invalid BSON ({exc})") from exc


def _batches(
    documents: Iterator[RawBSONDocument], *, batch_size: int
) -> Iterator[list[RawBSONDocument]]:
    batch: list[RawBSONDocument] = []
    size = 0
    for document in documents:
        batch.append(document)
        size += len(document.raw)
        if len(batch) >= batch_size or size >= _MAX_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _insert(
    collection: Collection[dict[str, Any]], batch: list[RawBSONDocument], *, merge: bool
) -> tuple[int, int]:
    """Inserts `batch`; returns (inserted, skipped as already present)."""
    try:
        # Documents are restored as they were, even if a validator has changed since.
        collection.insert_many(batch, ordered=not merge, bypass_document_validation=True)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if not merge or any(error.get("code") != _DUPLICATE_KEY for error in errors):
            raise
        return int(exc.details.get("nInserted", 0)), len(errors)
    return len(batch), 0


def _create_indexes(db: Db, meta: CollectionMetadata) -> None:
    specs = [
        {k: v for k, v in spec.items() if k != "ns"}
        for spec in meta.indexes
        if spec.get("name") != "_id_"  # made with the collection
    ]
    if specs:
        db.command(SON([("createIndexes", meta.name), ("indexes", specs)]))
