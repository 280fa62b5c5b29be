"""InMemorySessionStore: a thread-safe fake of the SessionStore port (checked by the same
contract tests as MongoSessionStore)."""

from __future__ import annotations

import threading
from datetime import datetime

from chat_service.core.errors import StorageUnavailable
from chat_service.core.timestamps import to_stored
from chat_service.ports.sessions import Session, SessionKey


class InMemorySessionStore:
    """Sessions in a dict; set `unavailable = True` to make every call raise StorageUnavailable."""

    def __init__(self) -> None:
        self.unavailable = False
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[Session, datetime]] = {}

    def get(self, key: SessionKey) -> Session | None:
        with self._lock:
            self._check()
            entry = self._sessions.get(key.id)
            return None if entry is None else entry[0]

    def put(self, key: SessionKey, session: Session, *, expires_at: datetime) -> None:
        stored = Session(session.id, session.conversation_id, to_stored(session.last_activity))
        with self._lock:
            self._check()
            self._sessions[key.id] = (stored, to_stored(expires_at))

    def touch(
        self, key: SessionKey, session_id: str, *, now: datetime, expires_at: datetime
    ) -> bool:
        with self._lock:
            self._check()
            entry = self._sessions.get(key.id)
            if entry is None or entry[0].id != session_id:
                return False
            touched = Session(session_id, entry[0].conversation_id, to_stored(now))
            self._sessions[key.id] = (touched, to_stored(expires_at))
            return True

    def delete(self, key: SessionKey) -> Session | None:
        with self._lock:
            self._check()
            entry = self._sessions.pop(key.id, None)
            return None if entry is None else entry[0]

    def _check(self) -> None:
        if self.unavailable:
            raise StorageUnavailable("MongoDB is unavailable")
