"""The AuthFailureLimiter port: counts failed authentications per client address.

A GCRA like the rate limit's, split in two steps. `retry_after_s` only reads the address's
bucket, before its key is checked, so a refused request costs no key lookup; `record_failure`
charges the bucket once a key turned out wrong. Successful authentications never touch it.
A charge is never refused: failures that passed the check together all count, and the address
then waits that much longer, so over time no address gets more than `limit` per `window_s`.
"""

from __future__ import annotations

from typing import Protocol


class AuthFailureLimiter(Protocol):
    """Counts failed authentications per client address."""

    async def retry_after_s(self, address: str) -> float:
        """Returns 0 if `address` may present a key now, else the seconds until it may."""
        ...

    async def record_failure(self, address: str) -> None:
        """Counts one failed authentication of `address`."""
        ...
