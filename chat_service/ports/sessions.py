"""The session ports: the store that is the truth, and the cache that serves the hot path."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SessionKey:
    """Names one session: the owner (API key) and the client's platform, chat and user."""

    owner: str
    platform: str
    chat_id: str
    user_id: str  # "" under SessionScope.CHAT

    @property
    def id(self) -> str:
        """A fixed-length id for storage keys (SHA-256 of the four parts)."""
        parts = [self.owner, self.platform, self.chat_id, self.user_id]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """An active session: its own random id, its conversation, its last turn."""

    id: str
    conversation_id: str
    last_activity: datetime


class SessionStore(Protocol):
    """The sessions' source of truth. Raises StorageUnavailable when down."""

    def get(self, key: SessionKey) -> Session | None:
        """Returns the stored session (expired or not), None if there is none."""
        ...

    def put(self, key: SessionKey, session: Session, *, expires_at: datetime) -> None:
        """Stores `session` as the key's session, replacing any other."""
        ...

    def touch(
        self, key: SessionKey, session_id: str, *, now: datetime, expires_at: datetime
    ) -> bool:
        """Records a turn of session `session_id`; False if it is no longer the key's session."""
        ...

    def delete(self, key: SessionKey) -> Session | None:
        """Removes the key's session and returns it (None if there was none)."""
        ...


class SessionCache(Protocol):
    """A copy of active sessions for the hot path. Best effort: it never raises, and a miss
    or an outage only sends the caller to the store."""

    def get(self, key: SessionKey) -> Session | None:
        """Returns the cached session, None on a miss or when the cache is unusable."""
        ...

    def put(self, key: SessionKey, session: Session, *, ttl: timedelta) -> None:
        """Caches `session` for `ttl` (skipped when the cache is unusable)."""
        ...

    def drop(self, key: SessionKey) -> None:
        """Forgets the key's session."""
        ...
