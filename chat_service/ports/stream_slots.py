"""The StreamSlots port: how many streams each owner has open, across every worker."""

from __future__ import annotations

from typing import Protocol


class StreamSlotsUnavailable(Exception):
    """The slots' store cannot be reached (the caller falls back to counting per process)."""


class StreamSlots(Protocol):
    """Leased slots per owner: a slot a crashed worker never released expires with its
    lease. Methods raise StreamSlotsUnavailable."""

    async def acquire(self, owner: str, slot: str, *, limit: int, lease_s: float) -> bool:
        """Takes `slot` if the owner holds fewer than `limit` live slots; False otherwise."""
        ...

    async def renew(self, owner: str, slot: str, *, lease_s: float) -> None:
        """Extends the lease of a slot still held."""
        ...

    async def release(self, owner: str, slot: str) -> None:
        """Gives the slot back."""
        ...
