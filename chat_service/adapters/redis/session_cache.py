"""RedisSessionCache: the SessionCache port over Redis (one JSON string per session key)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from chat_service.adapters.redis.client import REDIS_ERRORS, SyncRedis
from chat_service.core.availability import RedisAvailability
from chat_service.ports.sessions import Session, SessionKey

logger = logging.getLogger(__name__)


class RedisSessionCache:
    """Sessions under `acai:session:v1:<key id>`, expiring by themselves after their TTL."""

    def __init__(self, client: SyncRedis, *, availability: RedisAvailability) -> None:
        self._redis = client
        self._availability = availability

    def get(self, key: SessionKey) -> Session | None:
        if not self._availability.usable:
            return None
        try:
            raw = self._redis.get(_redis_key(key))
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            return None
        self._availability.succeeded()
        if raw is None:
            return None
        data = json.loads(raw)
        return Session(data["id"], data["conversation_id"], datetime.fromisoformat(data["last"]))

    def put(self, key: SessionKey, session: Session, *, ttl: timedelta) -> None:
        if not self._availability.usable:
            return
        value = json.dumps(
            {
                "id": session.id,
                "conversation_id": session.conversation_id,
                "last": session.last_activity.isoformat(),
            }
        )
        ttl_ms = max(1, int(ttl.total_seconds() * 1000))
        try:
            self._redis.set(_redis_key(key), value, px=ttl_ms)
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)

    def drop(self, key: SessionKey) -> None:
        try:
            # DEL as one command: the cluster client's delete() sends even one key through a
            # pipeline split by slot (slower, and untraced there).
            self._redis.execute_command("DEL", _redis_key(key))  # type: ignore[no-untyped-call]
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            logger.warning("could not drop a session from redis; the store still ends it")


def _redis_key(key: SessionKey) -> str:
    return f"acai:session:v1:{key.id}"
