"""Sessions: a stateless client's (platform, chat, user) mapped to its current conversation.

The SessionStore (MongoDB) is the truth; Redis holds a copy for the hot path, so a Redis flush
or outage only costs a database read. A session expires after `ttl` without a turn (sliding),
and then the next message starts a new conversation.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import redis

from chat_service.models import SessionInfo
from chat_service.redis_availability import RedisAvailability

logger = logging.getLogger(__name__)


class SessionScope(enum.Enum):
    """Which messages share a conversation."""

    CHAT = "chat"  # everyone in a chat (the original's behaviour)
    USER = "user"  # each user of a chat on their own (group chats)


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


class Sessions:
    """Finds, starts, slides and ends sessions: Redis first, the store as the truth.

    Times passed in are compared with `last_activity + ttl`, so expiry follows the caller's
    clock; Redis entries also expire by themselves after `ttl`. With no Redis client, every
    call goes to the store.
    """

    def __init__(
        self,
        store: SessionStore,
        client: redis.Redis | None,
        *,
        availability: RedisAvailability,
        ttl: timedelta,
        scope: SessionScope = SessionScope.CHAT,
    ) -> None:
        self._store = store
        self._redis = client
        self._availability = availability
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

    def _redis_key(self, key: SessionKey) -> str:
        return f"acai:session:v1:{key.id}"

    def _cached(self, key: SessionKey) -> Session | None:
        if self._redis is None or not self._availability.usable:
            return None
        try:
            raw = self._redis.get(self._redis_key(key))
        except redis.RedisError as exc:
            self._availability.failed(exc)
            return None
        self._availability.succeeded()
        if raw is None:
            return None
        data = json.loads(raw)
        return Session(data["id"], data["conversation_id"], datetime.fromisoformat(data["last"]))

    def _cache(self, key: SessionKey, session: Session) -> None:
        if self._redis is None or not self._availability.usable:
            return
        value = json.dumps(
            {
                "id": session.id,
                "conversation_id": session.conversation_id,
                "last": session.last_activity.isoformat(),
            }
        )
        ttl_ms = max(1, int(self._ttl.total_seconds() * 1000))
        try:
            self._redis.set(self._redis_key(key), value, px=ttl_ms)
        except redis.RedisError as exc:
            self._availability.failed(exc)

    def _forget(self, key: SessionKey) -> None:
        if self._redis is None:
            return
        try:
            self._redis.delete(self._redis_key(key))
        except redis.RedisError as exc:
            self._availability.failed(exc)
            logger.warning("could not drop a session from redis; the store still ends it")
