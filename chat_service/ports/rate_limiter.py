"""The RateLimiter port: admits a request only if each of its buckets has room."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may go on; if not, which bucket refused and when to retry."""

    admitted: bool
    retry_after_s: float = 0.0
    bucket: str = ""


class RateLimiter(Protocol):
    """Admits a request only if every one of its buckets has room; consumes from all of them."""

    async def hit(self, buckets: Sequence[str]) -> Decision:
        """Returns the decision for one request counted against `buckets`."""
        ...
