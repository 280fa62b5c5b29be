"""The ApiKeyStore port: stored API keys (by digest) and their owners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A stored key, without the key itself: its id, owner, label and lifetime."""

    key_id: str
    owner: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyStore(Protocol):
    """Keeps API keys by digest. Every method raises StorageUnavailable when the store is down."""

    def add(self, *, digest: str, owner: str, name: str, now: datetime) -> ApiKeyRecord:
        """Stores a new active key for `owner` and returns its record."""
        ...

    def owner_of(self, digest: str) -> str | None:
        """Returns the owner of the active key with this digest, None if there is none."""
        ...

    def has_keys(self) -> bool:
        """Returns whether any key was ever stored, revoked ones included."""
        ...

    def list_keys(self, *, owner: str | None = None) -> list[ApiKeyRecord]:
        """Returns the keys (of `owner`, or all), oldest first, revoked ones included."""
        ...

    def revoke(self, key_id: str, *, now: datetime) -> ApiKeyRecord | None:
        """Revokes the key with this id; returns its record, None if no key has that id."""
        ...
