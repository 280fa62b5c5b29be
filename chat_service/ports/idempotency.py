"""The IdempotencyStore port and the records that cross it: claims, receipts, outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from chat_service.core.usage import UsageTotals


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """What a turn returned; what a repeat of it gets (the same `usage`: what the turn cost)."""

    conversation_id: str
    reply: str
    title: str = ""
    new_conversation: bool = False
    usage: UsageTotals = field(default_factory=UsageTotals)


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to run the turn of an idempotency record of `owner`'s."""

    record_id: str
    token: str
    owner: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """A claim and the result to record with the turn's messages, in their transaction.

    The repository completes record `claim.record_id` (only while `claim.token` holds it,
    else TurnConflict) with this result and the conversation's id.
    """

    claim: Claim
    reply: str
    title: str = ""
    new_conversation: bool = False
    usage: UsageTotals = field(default_factory=UsageTotals)


class ClaimState(enum.Enum):
    """Why a claim was not granted (a done record returns its TurnOutcome instead)."""

    CLAIMED = "claimed"
    PENDING = "pending"  # another request with the key is running
    MISMATCH = "mismatch"  # the key was used for a different request


class IdempotencyStore(Protocol):
    """Idempotency records. Raises StorageUnavailable when down."""

    def claim(
        self,
        claim: Claim,
        *,
        fingerprint: str,
        now: datetime,
        lease: timedelta,
        ttl: timedelta,
    ) -> ClaimState | TurnOutcome:
        """Claims the record for `claim.token` if it is new, expired, or pending past its
        lease; else returns its outcome (done), PENDING or MISMATCH."""
        ...

    def release(self, claim: Claim) -> None:
        """Forgets a claim whose turn failed, so a retry runs it again."""
        ...
