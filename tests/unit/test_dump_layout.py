"""The backup layout: mongodump's metadata format, document counting, finding the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import bson
import pytest
from bson import Int64
from bson.son import SON

from ops.dump_layout import (
    CollectionMetadata,
    DumpFormatError,
    Manifest,
    collections_in,
    count_documents,
    read_metadata,
    scan_bson_file,
)
from ops.restore import find_database_dir


def test_metadata_is_canonical_extended_json_and_reads_back_in_key_order(tmp_path):
    index = SON([("v", 2), ("key", SON([("seq", -1), ("conversation_id", 1)])), ("name", "i")])
    metadata = CollectionMetadata(
        name="messages",
        options={"capped": True, "size": Int64(1 << 40)},
        indexes=[index],
        uuid="00ff",
    )
    text = metadata.to_json()
    assert json.loads(text) == {
        "options": {"capped": True, "size": {"$numberLong": str(1 << 40)}},
        "indexes": [
            {
                "v": {"$numberInt": "2"},
                "key": {"seq": {"$numberInt": "-1"}, "conversation_id": {"$numberInt": "1"}},
                "name": "i",
            }
        ],
        "uuid": "00ff",
        "collectionName": "messages",
        "type": "collection",
    }
    path = tmp_path / "messages.metadata.json"
    path.write_text(text)
    read = read_metadata(path)
    assert read == metadata
    assert list(read.indexes[0]["key"]) == ["seq", "conversation_id"]
    assert isinstance(read.options["size"], Int64)


def test_metadata_as_mongodump_writes_it_for_a_view(tmp_path):
    path = tmp_path / "v.metadata.json"
    path.write_text(
        '{"options":{"viewOn":"c","pipeline":[{"$match":{"x":{"$numberInt":"1"}}}]},'
        '"indexes":[],"uuid":"","collectionName":"v","type":"view"}'
    )
    read = read_metadata(path)
    assert read.is_view
    assert read.options == {"viewOn": "c", "pipeline": [{"$match": {"x": 1}}]}


def test_unreadable_metadata_names_the_file(tmp_path):
    path = tmp_path / "broken.metadata.json"
    path.write_text("{not json")
    with pytest.raises(DumpFormatError, match=r"broken\.metadata\.json"):
        read_metadata(path)


def test_documents_are_counted_from_their_length_prefixes(tmp_path):
    documents = [bson.encode({"n": n, "pad": "x" * n}) for n in range(50)]
    assert count_documents(b"".join(documents)) == 50
    assert count_documents(b"") == 0
    path = tmp_path / "c.bson"
    path.write_bytes(b"".join(documents))
    assert scan_bson_file(path) == 50
    path.write_bytes(b"".join(documents)[:-1])
    with pytest.raises(DumpFormatError, match="truncated after 49 documents"):
        scan_bson_file(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DumpFormatError, match="after 0 documents"):
        scan_bson_file(path)


def test_collections_come_from_metadata_and_bson_files(tmp_path):
    for name in ("b.bson", "b.metadata.json", "a.metadata.json", "c.bson", "notes.txt"):
        (tmp_path / name).write_text("")
    assert collections_in(tmp_path) == ["a", "b", "c"]


def test_manifest_round_trip_and_absence(tmp_path):
    manifest = Manifest("acai", datetime(2026, 1, 1, tzinfo=UTC), {"conversations": 3})
    assert Manifest.read(tmp_path) is None
    manifest.write(tmp_path)
    assert Manifest.read(tmp_path) == manifest
    (tmp_path / "backup.json").write_text("[]")
    with pytest.raises(DumpFormatError, match=r"backup\.json"):
        Manifest.read(tmp_path)


def test_the_database_directory_is_found_from_the_backup_root_or_itself(tmp_path):
    for database in ("acai", "other"):
        (tmp_path / database).mkdir()
        (tmp_path / database / "conversations.bson").write_bytes(b"")
    assert find_database_dir(tmp_path / "acai", database="x") == tmp_path / "acai"
    assert find_database_dir(tmp_path, database="other") == tmp_path / "other"
    with pytest.raises(DumpFormatError, match="found: acai, other"):
        find_database_dir(tmp_path, database="x")
    (tmp_path / "other" / "conversations.bson").unlink()
    assert find_database_dir(tmp_path, database="x") == tmp_path / "acai"
