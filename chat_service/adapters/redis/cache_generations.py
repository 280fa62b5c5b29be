"""RedisCacheGenerations: the CacheGenerations port as one counter per owner in Redis.

`acai:cachegen:v1:<sha256 of the owner>` holds the owner's generation, without expiry. A flush
loses it together with the cached answers it guards, so starting again at 0 is safe.
"""

from __future__ import annotations

import hashlib

from chat_service.adapters.redis.client import REDIS_ERRORS, SyncRedis
from chat_service.adapters.redis.turn_round_trips import TurnRoundTrips
from chat_service.core.availability import RedisAvailability
from chat_service.core.errors import Unavailable


class RedisCacheGenerations:
    """Reads with GET, bumps with INCR."""

    def __init__(
        self,
        client: SyncRedis,
        *,
        availability: RedisAvailability,
        round_trips: TurnRoundTrips | None = None,
    ) -> None:
        """With `round_trips`, a generation read along the turn's lease is taken as is."""
        self._redis = client
        self._availability = availability
        self._trips = round_trips

    def current(self, owner: str) -> int | None:
        if not self._availability.usable:
            return None
        if self._trips is not None:
            was_read, value = self._trips.take_read(generation_key(owner))
            if was_read:
                return 0 if value is None else int(value)
        try:
            value = self._redis.get(generation_key(owner))
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            return None
        self._availability.succeeded()
        return 0 if value is None else int(value)

    def bump(self, owner: str) -> None:
        try:
            self._redis.incr(generation_key(owner))
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            raise Unavailable(
                "Redis is unavailable, so the replies cached from the deleted conversation "
                "could not be invalidated; retry the deletion"
            ) from exc
        self._availability.succeeded()


def generation_key(owner: str) -> str:
    """The key of the owner's generation."""
    return f"acai:cachegen:v1:{hashlib.sha256(owner.encode()).hexdigest()}"
