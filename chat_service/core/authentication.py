"""Authentication: which owner an API key belongs to, or that the service runs open.

Keys are compared as SHA-256 digests in constant time (`hmac.compare_digest`), never as
plain strings. Answers are cached for `cache_ttl_s`, so most requests cost no database
round trip; a revoked key therefore keeps working for up to that long.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chat_service.core.api_keys import key_digest
from chat_service.ports.api_keys import ApiKeyStore

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

    The service runs open (a request without a key is `anonymous`) only while no key has
    ever existed: no static key, no key in the store, revoked ones included, and
    `require_key` off. Once keys are in use it fails closed for good: revoking the last key
    does not open it again. A request that presents a key needs a valid one, open or not.
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
        self._warned_open = False

    def cached(self, presented: str | None) -> str | _Unknown | None:
        """Returns what `authenticate` would, if the cache knows; UNKNOWN otherwise. Never blocks."""
        now = self._clock()
        with self._lock:
            if presented is None:
                if self._open is None or self._open[1] <= now:
                    return UNKNOWN
                return ANONYMOUS if self._open[0] else None
            digest = key_digest(presented)
            if self._static and hmac.compare_digest(digest, self._static.digest):
                return self._static.owner
            entry = self._owners.get(digest)
            if entry is None or entry[1] <= now:
                return UNKNOWN
            return entry[0]

    def authenticate(self, presented: str | None) -> str | None:
        """Returns the owner of `presented`; without a key, ANONYMOUS when the service runs
        open. Returns None when the key is missing (and the service closed) or not valid.
        May query the store: raises StorageUnavailable."""
        if presented is None:
            return ANONYMOUS if self.is_open() else None
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
            if owner is not None:
                self._open = (False, math.inf)  # a valid key exists: closed from now on
        return owner

    def is_open(self) -> bool:
        """Returns whether no key has ever existed, so requests without a key are served as
        ANONYMOUS (logs a warning the first time it finds so). An open answer is cached for
        `cache_ttl_s`, a closed one for good. Raises StorageUnavailable."""
        now = self._clock()
        with self._lock:
            if self._open is not None and self._open[1] > now:
                return self._open[0]
        is_open = not (
            self._require_key
            or self._static is not None
            or (self._store is not None and self._store.has_keys())
        )
        with self._lock:
            # Stored keys are never deleted, only revoked: once closed, the service stays so.
            self._open = (is_open, now + self._ttl_s if is_open else math.inf)
            warn = is_open and not self._warned_open
            self._warned_open = self._warned_open or is_open
        if warn:
            logger.warning(
                "SECURITY WARNING: no API key has ever been configured or stored, so requests "
                "without a key are served as owner 'anonymous'. Fine on a laptop, never on a "
                "network: set API_KEY, or run `python -m chat_service.keys create --owner NAME`, "
                "or set REQUIRE_API_KEY to true."
            )
        return is_open
