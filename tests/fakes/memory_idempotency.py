"""InMemoryIdempotencyStore: the IdempotencyStore port in a dict, for the in-memory repository."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from chat_service.core.errors import TurnConflict
from chat_service.ports.idempotency import Claim, ClaimState, Receipt, TurnOutcome


class InMemoryIdempotencyStore:
    """Same rules as MongoIdempotencyStore; `complete` is what the repository calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: dict[str, dict[str, Any]] = {}

    def claim(
        self, claim: Claim, *, fingerprint: str, now: datetime, lease: timedelta, ttl: timedelta
    ) -> ClaimState | TurnOutcome:
        with self._lock:
            record = self.records.get(claim.record_id)
            if record is not None and record["expires_at"] <= now:
                record = None
            if record is None:
                self.records[claim.record_id] = {
                    "fingerprint": fingerprint,
                    "claim": claim.token,
                    "lease_until": now + lease,
                    "expires_at": now + ttl,
                    "outcome": None,
                }
                return ClaimState.CLAIMED
            if record["fingerprint"] != fingerprint:
                return ClaimState.MISMATCH
            if record["outcome"] is not None:
                return record["outcome"]
            if record["lease_until"] > now:
                return ClaimState.PENDING
            record.update(claim=claim.token, lease_until=now + lease)
            return ClaimState.CLAIMED

    def release(self, claim: Claim) -> None:
        with self._lock:
            record = self.records.get(claim.record_id)
            if record and record["claim"] == claim.token and record["outcome"] is None:
                del self.records[claim.record_id]

    def complete(self, receipt: Receipt, conversation_id: str) -> None:
        """Raises TurnConflict unless the receipt's claim still holds a pending record."""
        with self._lock:
            record = self.records.get(receipt.claim.record_id)
            if record is None or record["claim"] != receipt.claim.token or record["outcome"]:
                raise TurnConflict()
            record["outcome"] = TurnOutcome(
                conversation_id,
                receipt.reply,
                receipt.title,
                receipt.new_conversation,
                receipt.usage,
            )

    def forget_conversation(self, conversation_id: str) -> None:
        """Drops the records whose outcome names `conversation_id` (a deletion)."""
        with self._lock:
            for record_id, record in list(self.records.items()):
                outcome = record["outcome"]
                if outcome is not None and outcome.conversation_id == conversation_id:
                    del self.records[record_id]
