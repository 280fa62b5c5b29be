"""MongoLockBackend: turn leases in the `turn_locks` collection, the fallback while Redis is down.

turn_locks: {_id: key, holder, expires_at}. Expiry is judged by the workers' clocks, so they
must be roughly in sync (NTP); a TTL index (migration v0004) removes leases left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.errors import StorageUnavailable
from chat_service.core.timestamps import to_stored
from chat_service.ports.turn_lock import LockBackendUnavailable


class MongoLockBackend:
    """LockBackend over MongoDB; MongoDB errors become LockBackendUnavailable."""

    def __init__(
        self, database: Database[dict[str, Any]], *, clock: Callable[[], datetime]
    ) -> None:
        self._locks = database["turn_locks"]
        self._clock = clock

    def try_acquire(self, key: str, holder: str, *, ttl_s: float) -> bool:
        now = to_stored(self._clock())
        lease = {"holder": holder, "expires_at": now + timedelta(seconds=ttl_s)}
        try:
            with _unavailable():
                # Matches only an expired lease; with none at all, the upsert inserts one. A
                # live lease makes the upsert collide with its _id: not acquired.
                self._locks.update_one(
                    {"_id": key, "expires_at": {"$lte": now}}, {"$set": lease}, upsert=True
                )
        except DuplicateKeyError:
            return False
        return True

    def renew(self, key: str, holder: str, *, ttl_s: float) -> bool:
        expires_at = to_stored(self._clock()) + timedelta(seconds=ttl_s)
        with _unavailable():
            result = self._locks.update_one(
                {"_id": key, "holder": holder}, {"$set": {"expires_at": expires_at}}
            )
        return result.matched_count == 1

    def release(self, key: str, holder: str) -> None:
        with _unavailable():
            self._locks.delete_one({"_id": key, "holder": holder})


@contextmanager
def _unavailable() -> Iterator[None]:
    try:
        with storage_errors():
            yield
    except DuplicateKeyError:
        raise
    except (StorageUnavailable, PyMongoError) as exc:
        raise LockBackendUnavailable("mongodb") from exc
