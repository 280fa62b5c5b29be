"""The on-disk layout of a backup: mongodump's, so `mongorestore` and `ops.restore` both read it.

    <root>/backup.json                          manifest: database, time, documents per collection
    <root>/<db>/<collection>.bson               the documents as concatenated BSON, in _id order
    <root>/<db>/<collection>.metadata.json      options, indexes, uuid, collectionName, type

Metadata is canonical Extended JSON, as mongodump writes it. mongorestore skips the manifest
("don't know what to do with file"); `ops.restore` uses it to detect a truncated `.bson` file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from bson import json_util

MANIFEST_NAME = "backup.json"
BSON_SUFFIX = ".bson"
METADATA_SUFFIX = ".metadata.json"
VIEW = "view"

_EXTENDED_JSON = json_util.CANONICAL_JSON_OPTIONS
_SMALLEST_DOCUMENT = 5  # an empty BSON document: int32 length + terminating NUL


class DumpFormatError(ValueError):
    """A backup file is missing, unreadable or not in the expected layout."""


@dataclass(frozen=True, slots=True)
class CollectionMetadata:
    """What a collection needs besides its documents: its type, options and index specs."""

    name: str
    type: str = "collection"
    options: Mapping[str, Any] = field(default_factory=dict)
    indexes: Sequence[Mapping[str, Any]] = ()
    uuid: str = ""

    @property
    def is_view(self) -> bool:
        """True for a view, which has a definition but no documents of its own."""
        return self.type == VIEW

    def to_json(self) -> str:
        """Returns the metadata file's text, in mongodump's field order."""
        document = {
            "options": dict(self.options),
            "indexes": [dict(index) for index in self.indexes],
            "uuid": self.uuid,
            "collectionName": self.name,
            "type": self.type,
        }
        return json_util.dumps(document, json_options=_EXTENDED_JSON)


def metadata_path(directory: Path, collection: str) -> Path:
    """Returns the path of `collection`'s metadata file in a database directory."""
    return directory / f"{collection}{METADATA_SUFFIX}"


def bson_path(directory: Path, collection: str) -> Path:
    """Returns the path of `collection`'s documents file in a database directory."""
    return directory / f"{collection}{BSON_SUFFIX}"


def read_metadata(path: Path) -> CollectionMetadata:
    """Returns the metadata in `path` (ours or mongodump's). Raises DumpFormatError."""
    try:
        document = json_util.loads(path.read_text(encoding="utf-8"), json_options=_EXTENDED_JSON)
        name = path.name.removesuffix(METADATA_SUFFIX)
        return CollectionMetadata(
            name=document.get("collectionName") or name,
            type=document.get("type") or "collection",
            options=document.get("options") or {},
            indexes=list(document.get("indexes") or []),
            uuid=document.get("uuid") or "",
        )
    except (OSError, ValueError, AttributeError) as exc:
        raise DumpFormatError(f"{path}: unreadable metadata ({exc})") from exc


def collections_in(directory: Path) -> list[str]:
    """Returns the collections a database directory holds (a metadata or a .bson file), sorted."""
    names = {p.name.removesuffix(METADATA_SUFFIX) for p in directory.glob(f"*{METADATA_SUFFIX}")}
    names |= {p.name.removesuffix(BSON_SUFFIX) for p in directory.glob(f"*{BSON_SUFFIX}")}
    return sorted(names)


def count_documents(batch: bytes) -> int:
    """Returns how many BSON documents a run of concatenated documents holds."""
    count = offset = 0
    while offset < len(batch):
        offset += int.from_bytes(batch[offset : offset + 4], "little")
        count += 1
    return count


def scan_bson_file(path: Path) -> int:
    """Returns how many documents the `.bson` file at `path` holds, reading only their length
    prefixes. Raises DumpFormatError if it does not end on a document boundary (truncated)."""
    size = path.stat().st_size
    count = offset = 0
    with path.open("rb") as file:
        while offset < size:
            header = file.read(4)
            length = int.from_bytes(header, "little")
            if len(header) < 4 or length < _SMALLEST_DOCUMENT or offset + length > size:
                raise DumpFormatError(
                    f"{path}: damaged or truncated after {count} documents (byte {offset})"
                )
            offset += length
            count += 1
            file.seek(offset)
    return count


def sync_and_close(file: BinaryIO) -> None:
    """Flushes `file` to the disk and closes it, so a finished backup survives a crash."""
    file.flush()
    os.fsync(file.fileno())
    file.close()


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds: the database it came from, when, and documents per collection."""

    database: str
    created_at: datetime
    documents: Mapping[str, int]

    def write(self, root: Path) -> None:
        """Writes the manifest into the backup's root directory."""
        body = {
            "format": "mongodump",
            "database": self.database,
            "created_at": self.created_at.isoformat(),
            "documents": dict(self.documents),
        }
        (root / MANIFEST_NAME).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, root: Path) -> Manifest | None:
        """Returns the manifest of the backup at `root`, None if it has none (a plain
        mongodump). Raises DumpFormatError if it is there but unreadable."""
        path = root / MANIFEST_NAME
        if not path.is_file():
            return None
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                database=str(body["database"]),
                created_at=datetime.fromisoformat(body["created_at"]),
                documents={str(k): int(v) for k, v in body["documents"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DumpFormatError(f"{path}: unreadable manifest ({exc})") from exc
