"""MongoApiKeyStore: the ApiKeyStore port over the `api_keys` collection (indexes: v0006)."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.api_keys import key_id
from chat_service.core.timestamps import to_stored
from chat_service.ports.api_keys import ApiKeyRecord

COLLECTION = "api_keys"


class MongoApiKeyStore:
    """One document per key: `_id` is the key's SHA-256 digest; the key itself is never stored."""

    def __init__(self, database: Database[dict[str, Any]]) -> None:
        self._keys = database[COLLECTION]

    def add(self, *, digest: str, owner: str, name: str, now: datetime) -> ApiKeyRecord:
        document = {
            "_id": digest,
            "key_id": key_id(digest),
            "owner": owner,
            "name": name,
            "created_at": to_stored(now),
            "revoked_at": None,
        }
        with storage_errors():
            self._keys.insert_one(document)
        return _record(document)

    def owner_of(self, digest: str) -> str | None:
        with storage_errors():
            document = self._keys.find_one({"_id": digest, "revoked_at": None}, {"owner": True})
        # The lookup is by digest; comparing the digests again, in constant time, keeps the
        # answer independent of how the server matched them.
        if document is None or not hmac.compare_digest(str(document["_id"]), digest):
            return None
        return str(document["owner"])

    def has_keys(self) -> bool:
        with storage_errors():
            return self._keys.find_one({}, {"_id": True}) is not None

    def list_keys(self, *, owner: str | None = None) -> list[ApiKeyRecord]:
        query = {} if owner is None else {"owner": owner}
        with storage_errors():
            documents = list(self._keys.find(query).sort([("created_at", 1), ("_id", 1)]))
        return [_record(d) for d in documents]

    def revoke(self, key_id: str, *, now: datetime) -> ApiKeyRecord | None:
        with storage_errors():
            document = self._keys.find_one_and_update(
                {"key_id": key_id},
                {"$set": {"revoked_at": to_stored(now)}},
                return_document=ReturnDocument.AFTER,
            )
        return None if document is None else _record(document)


def _record(document: dict[str, Any]) -> ApiKeyRecord:
    revoked = document.get("revoked_at")
    return ApiKeyRecord(
        key_id=str(document["key_id"]),
        owner=str(document["owner"]),
        name=str(document.get("name", "")),
        created_at=to_stored(document["created_at"]),
        revoked_at=to_stored(revoked) if revoked is not None else None,
    )
