"""Authentication: which owner an API key belongs to, or that the service runs open.

Keys are compared as SHA-256 digests in constant time (`hmac.compare_digest`), never as
plain strings. Answers are cached for `cache_ttl_s`, so most requests cost no database
round trip; a revoked key therefore keeps working for up to that long.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chat_service.core.api_keys import ApiKeyStore, key_digest

logger = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
_MAX_CACHED_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class StaticKey:
    """A key from the configuration (`API_KEY`) and the owner it stands for."""

    digest: str
    owner: str


class _Unknown:
    pass


UNKNOWN = _Unknown()
"""What `cached` returns when only `authenticate` can answer."""


class Authenticator:
    """Maps a presented key to its owner.

    The service runs open (every request is `anonymous`) only while no key exists at all:
    no static key, no active key in the store, and `require_key` off.
    """

    def __init__(
        self,
        store: ApiKeyStore | None,
        *,
        static_key: StaticKey | None = None,
        require_key: bool = False,
        cache_ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._static = static_key
        self._require_key = require_key
        self._ttl_s = cache_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[str | None, float]] = {}
        self._open: tuple[bool, float] | None = None

    def cached(self, presented: str | None) -> str | _Unknown | None:
        """Returns what `authenticate` would, if the cache knows; UNKNOWN otherwise. Never blocks."""
        now = self._clock()
        with self._lock:
            if self._open is None or self._open[1] <= now:
                return UNKNOWN
            if self._open[0]:
                return ANONYMOUS
            if presented is None:
                return None
            digest = key_digest(presented)
            if self._static and hmac.compare_digest(digest, self._static.digest):
                return self._static.owner
            entry = self._owners.get(digest)
            if entry is None or entry[1] <= now:
                return UNKNOWN
            return entry[0]

    def authenticate(self, presented: str | None) -> str | None:
        """Returns the owner of `presented`, ANONYMOUS when the service runs open, None when
        the key is missing or unknown. May query the store: raises StorageUnavailable."""
        if self.is_open():
            return ANONYMOUS
        if presented is None:
            return None
        digest = key_digest(presented)
        if self._static and hmac.compare_digest(digest, self._static.digest):
            return self._static.owner
        if self._store is None:
            return None
        owner = self._store.owner_of(digest)
        with self._lock:
            if len(self._owners) >= _MAX_CACHED_KEYS:
                self._owners.clear()  # a flood of made-up keys must not grow memory
            self._owners[digest] = (owner, self._clock() + self._ttl_s)
        return owner

    def is_open(self) -> bool:
        """Returns whether no key is configured (the answer is cached). Raises StorageUnavailable."""
        now = self._clock()
        with self._lock:
            if self._open is not None and self._open[1] > now:
                return self._open[0]
        is_open = not (
            self._require_key
            or self._static is not None
            or (self._store is not None and self._store.has_active_keys())
        )
        with self._lock:
            self._open = (is_open, now + self._ttl_s)
        return is_open
