"""The LockBackend port: leases by key, in Redis or in MongoDB, for the TurnLock."""

from __future__ import annotations

from typing import Protocol


class LockBackendUnavailable(Exception):
    """The backend's store could not be reached."""


class LockBackend(Protocol):
    """Leases by key. Every method raises LockBackendUnavailable when its store is down."""

    def try_acquire(self, key: str, holder: str, *, ttl_s: float) -> bool:
        """Takes the lease if it is free or expired; returns whether `holder` now has it."""
        ...

    def renew(self, key: str, holder: str, *, ttl_s: float) -> bool:
        """Extends the lease by `ttl_s` from now if `holder` still has it; returns whether it
        did. A lease that is gone (released, expired, lost with the store's data) stays gone."""
        ...

    def release(self, key: str, holder: str) -> None:
        """Frees the lease if `holder` still has it."""
        ...
