"""OpenStreams: at most `limit` open streams per owner (MAX_STREAMS_PER_OWNER), across workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator

import anyio

from chat_service.core.availability import RedisAvailability
from chat_service.edge.twirp import TwirpError
from chat_service.ports.stream_slots import StreamSlots, StreamSlotsUnavailable

logger = logging.getLogger(__name__)


class OpenStreams:
    """Counts open streams per owner in `slots` (leases of `lease_s`, renewed while the stream
    is open); while the slots are unavailable, per process. `limit` 0 means no limit."""

    def __init__(
        self,
        slots: StreamSlots | None,
        *,
        limit: int,
        availability: RedisAvailability,
        lease_s: float = 60.0,
    ) -> None:
        self._slots = slots
        self._limit = limit
        self._availability = availability
        self._lease_s = lease_s
        self._local: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def hold(self, owner: str) -> AsyncIterator[TwirpError | None]:
        """Holds one of the owner's stream slots for the block and yields None; yields the
        refusal (resource_exhausted) instead when the owner has `limit` streams open."""
        if self._limit <= 0:
            yield None
            return
        slot = secrets.token_hex(8)
        try:
            shared = await self._acquire(owner, slot)
        except _Refused:
            yield self._refusal()
            return
        renewal = asyncio.create_task(self._renew(owner, slot)) if shared else None
        try:
            yield None
        finally:
            if renewal is not None:
                renewal.cancel()
            await self._release(owner, slot, shared)

    async def _acquire(self, owner: str, slot: str) -> bool:
        """Returns True for a slot in `slots`, False for one counted here; raises _Refused."""
        if self._slots is not None and self._availability.usable:
            try:
                taken = await self._slots.acquire(
                    owner, slot, limit=self._limit, lease_s=self._lease_s
                )
            except StreamSlotsUnavailable as exc:
                self._availability.failed(exc)
            else:
                self._availability.succeeded()
                if not taken:
                    raise _Refused()
                return True
        if self._local[owner] >= self._limit:
            raise _Refused()
        self._local[owner] += 1
        return False

    async def _renew(self, owner: str, slot: str) -> None:
        assert self._slots is not None
        while True:
            await anyio.sleep(self._lease_s / 3)
            # If this fails the lease may lapse: the stream goes on, uncounted.
            with contextlib.suppress(StreamSlotsUnavailable):
                await self._slots.renew(owner, slot, lease_s=self._lease_s)

    async def _release(self, owner: str, slot: str, shared: bool) -> None:
        if not shared:
            self._local[owner] -= 1
            if self._local[owner] <= 0:
                del self._local[owner]
            return
        assert self._slots is not None
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(StreamSlotsUnavailable):  # else the lease expires
                await self._slots.release(owner, slot)

    def _refusal(self) -> TwirpError:
        return TwirpError(
            "resource_exhausted",
            f"too many open streams: at most {self._limit} per owner (MAX_STREAMS_PER_OWNER)",
            {"limit": "streams_per_owner", "max_streams": str(self._limit)},
        )


class _Refused(Exception):
    """The owner holds every slot."""
