"""Sessions: a stateless client's (platform, chat, user) mapped to its current conversation.

The SessionStore (MongoDB) is the truth; a SessionCache (Redis) holds a copy for the hot path,
so a cache flush or outage only costs a database read. A session expires after `ttl` without a
turn (sliding), and then the next message starts a new conversation.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta

from chat_service.core.models import SessionInfo
from chat_service.ports.sessions import Session, SessionCache, SessionKey, SessionStore


class SessionScope(enum.Enum):
    """Which messages share a conversation."""

    CHAT = "chat"  # everyone in a chat (the original's behaviour)
    USER = "user"  # each user of a chat on their own (group chats)


class Sessions:
    """Finds, starts, slides and ends sessions: the cache first, the store as the truth.

    Times passed in are compared with `last_activity + ttl`, so expiry follows the caller's
    clock; cached entries also expire by themselves after `ttl`. With no cache, every call
    goes to the store.
    """

    def __init__(
        self,
        store: SessionStore,
        cache: SessionCache | None,
        *,
        ttl: timedelta,
        scope: SessionScope = SessionScope.CHAT,
    ) -> None:
        self._store = store
        self._cache_port = cache
        self._ttl = ttl
        self._scope = scope

    def key(self, owner: str, info: SessionInfo) -> SessionKey | None:
        """Returns the session key of `info`, None if it lacks a part the scope needs."""
        user_id = info.user_id if self._scope is SessionScope.USER else ""
        if not info.platform or not info.chat_id:
            return None
        if self._scope is SessionScope.USER and not user_id:
            return None
        return SessionKey(owner, info.platform, info.chat_id, user_id)

    def find(self, key: SessionKey, *, now: datetime) -> Session | None:
        """Returns the key's session if it is still active at `now`."""
        session = self._cached(key)
        if session is None:
            session = self._store.get(key)
            if session is not None and self._active(session, now):
                self._cache(key, session)
        return session if session is not None and self._active(session, now) else None

    def start(self, key: SessionKey, conversation_id: str, *, now: datetime) -> Session:
        """Makes `conversation_id` the key's session from now on (ending any other)."""
        session = Session(secrets.token_hex(8), conversation_id, now)
        self._store.put(key, session, expires_at=now + self._ttl)
        self._cache(key, session)
        return session

    def touch(self, key: SessionKey, session: Session, *, now: datetime) -> None:
        """Slides the session's expiry after a turn at `now`."""
        if self._store.touch(key, session.id, now=now, expires_at=now + self._ttl):
            self._cache(key, Session(session.id, session.conversation_id, now))
        else:
            # Ended or replaced meanwhile (Redis may have missed it during an outage).
            self._forget(key)

    def end(self, key: SessionKey, *, now: datetime) -> Session | None:
        """Ends the key's session; returns it if it was active."""
        session = self._store.delete(key)
        self._forget(key)
        return session if session is not None and self._active(session, now) else None

    def _active(self, session: Session, now: datetime) -> bool:
        return now < session.last_activity + self._ttl

    def _cached(self, key: SessionKey) -> Session | None:
        return None if self._cache_port is None else self._cache_port.get(key)

    def _cache(self, key: SessionKey, session: Session) -> None:
        if self._cache_port is not None:
            self._cache_port.put(key, session, ttl=self._ttl)

    def _forget(self, key: SessionKey) -> None:
        if self._cache_port is not None:
            self._cache_port.drop(key)
