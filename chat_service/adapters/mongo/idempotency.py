"""MongoIdempotencyStore: idempotency records in `idempotency_keys`, expired by a TTL index.

idempotency_keys: {_id: record id, owner, fingerprint, state: "pending"|"done", claim,
                   lease_until, expires_at,
                   outcome: {conversation_id, reply, title, new_conversation,
                   usage: {calls: [...]}}}
Every filter names the owner with the `_id`: (owner, _id) is the collection's shard key
(docs/operations.md, "Scaling out"), so a sharded cluster sends each one to one shard.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.errors import TurnConflict
from chat_service.core.timestamps import to_stored
from chat_service.core.usage import ModelCall, UsageTotals
from chat_service.ports.idempotency import Claim, ClaimState, Receipt, TurnOutcome

Document = dict[str, Any]
COLLECTION = "idempotency_keys"


class MongoIdempotencyStore:
    """The IdempotencyStore port over MongoDB (StorageUnavailable when down)."""

    def __init__(self, database: Database[Document]) -> None:
        self._records = database[COLLECTION]

    def claim(
        self,
        claim: Claim,
        *,
        fingerprint: str,
        now: datetime,
        lease: timedelta,
        ttl: timedelta,
    ) -> ClaimState | TurnOutcome:
        now = to_stored(now)
        pending = {"state": "pending", "claim": claim.token, "lease_until": now + lease}
        with storage_errors():
            for _ in range(3):  # an expired record deleted meanwhile: try the insert again
                try:
                    self._records.insert_one(
                        {
                            "_id": claim.record_id,
                            "owner": claim.owner,
                            "fingerprint": fingerprint,
                            **pending,
                            "expires_at": now + ttl,
                        }
                    )
                    return ClaimState.CLAIMED
                except DuplicateKeyError:
                    record = self._records.find_one(_filter(claim))
                if record is None:
                    self._adopt_unowned(claim)
                    continue
                if to_stored(record["expires_at"]) <= now:
                    self._records.delete_one({**_filter(claim), "claim": record["claim"]})
                    continue
                if record["fingerprint"] != fingerprint:
                    return ClaimState.MISMATCH
                if record["state"] == "done":
                    return _outcome(record["outcome"])
                if to_stored(record["lease_until"]) > now:
                    return ClaimState.PENDING
                taken = self._records.update_one(
                    {**_filter(claim), "claim": record["claim"], "state": "pending"},
                    {"$set": pending},
                )
                return ClaimState.CLAIMED if taken.matched_count else ClaimState.PENDING
        return ClaimState.PENDING

    def _adopt_unowned(self, claim: Claim) -> None:
        # Records stored before they named their owner: the record id is a digest of the
        # owner, method and key, so the claimant's owner is the record's. Naming it lets every
        # owner-keyed filter find the record. (ops.shard refuses to shard the collection while
        # such records remain, so this runs on a replica set only.)
        self._records.update_one(
            {"_id": claim.record_id, "owner": {"$exists": False}}, {"$set": {"owner": claim.owner}}
        )

    def release(self, claim: Claim) -> None:
        with storage_errors():
            self._records.delete_one({**_filter(claim), "claim": claim.token, "state": "pending"})


def complete_in_transaction(
    database: Database[Document], receipt: Receipt, conversation_id: str, session: ClientSession
) -> None:
    """Records the turn's outcome inside the turn's transaction; raises TurnConflict (so the
    transaction aborts) if the claim was taken over meanwhile."""
    selector, update = receipt_update(receipt, conversation_id)
    result = database[COLLECTION].update_one(selector, update, session=session)
    if result.matched_count != 1:
        raise TurnConflict()


def receipt_update(receipt: Receipt, conversation_id: str) -> tuple[Document, Document]:
    """The selector and update that record the turn's outcome on its pending record (they
    match nothing if the claim was taken over)."""
    outcome = {
        "conversation_id": conversation_id,
        "reply": receipt.reply,
        "title": receipt.title,
        "new_conversation": receipt.new_conversation,
        "usage": {"calls": [call.to_json() for call in receipt.usage.calls]},
    }
    return (
        {**_filter(receipt.claim), "claim": receipt.claim.token, "state": "pending"},
        {"$set": {"state": "done", "outcome": outcome}},
    )


def _outcome(document: Document) -> TurnOutcome:
    calls = document.get("usage", {}).get("calls", ())
    return TurnOutcome(
        conversation_id=document["conversation_id"],
        reply=document["reply"],
        title=document.get("title", ""),
        new_conversation=document.get("new_conversation", False),
        usage=UsageTotals.of(ModelCall.from_json(call) for call in calls),
    )


def _filter(claim: Claim) -> Document:
    return {"_id": claim.record_id, "owner": claim.owner}
