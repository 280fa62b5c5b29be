"""An in-memory ApiKeyStore, checked against MongoApiKeyStore by the same contract tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chat_service.core.api_keys import key_id
from chat_service.core.errors import StorageUnavailable
from chat_service.ports.api_keys import ApiKeyRecord


class MemoryApiKeyStore:
    def __init__(self) -> None:
        self._records: dict[str, ApiKeyRecord] = {}  # by digest
        self.unavailable = False
        self.lookups = 0

    def _check(self) -> None:
        if self.unavailable:
            raise StorageUnavailable("MongoDB is unavailable")

    def add(self, *, digest: str, owner: str, name: str, now: datetime) -> ApiKeyRecord:
        self._check()
        record = ApiKeyRecord(key_id(digest), owner, name, now.replace(microsecond=0))
        self._records[digest] = record
        return record

    def owner_of(self, digest: str) -> str | None:
        self._check()
        self.lookups += 1
        record = self._records.get(digest)
        return record.owner if record and record.revoked_at is None else None

    def has_keys(self) -> bool:
        self._check()
        return bool(self._records)

    def list_keys(self, *, owner: str | None = None) -> list[ApiKeyRecord]:
        self._check()
        records = [r for r in self._records.values() if owner is None or r.owner == owner]
        return sorted(records, key=lambda r: (r.created_at, r.key_id))

    def revoke(self, key_id: str, *, now: datetime) -> ApiKeyRecord | None:
        self._check()
        for digest, record in self._records.items():
            if record.key_id == key_id:
                self._records[digest] = replace(record, revoked_at=now.replace(microsecond=0))
                return self._records[digest]
        return None
