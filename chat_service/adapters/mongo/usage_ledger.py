"""MongoUsageLedger: the UsageLedger port over the `usage` collection, one document per call.

usage: {_id: ObjectId, owner, key_id, turn_id, day: "YYYY-MM-DD" (UTC), at, operation,
        provider, model, input_tokens, output_tokens, cost_usd, latency_ms, cached, pending}

Indexes (owner, day) and (key_id, day) come from `migrations/` (v0008). Every statement names
the owner: (owner, _id) is the collection's shard key (docs/operations.md, "Scaling out").
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.timestamps import to_stored
from chat_service.core.usage import ModelCall, UsageRecord

Document = dict[str, Any]
COLLECTION = "usage"


class MongoUsageLedger:
    """Usage records in `usage`; every read is a range of one of its indexes."""

    def __init__(self, database: Database[Document]) -> None:
        self._records = database[COLLECTION]

    def add(self, record: UsageRecord) -> str:
        document = {"_id": ObjectId(), **_fields(record)}
        # The id is this call's own: a retried write whose first attempt was stored though
        # its answer was lost (a stalled server) has nothing left to do.
        with storage_errors(), contextlib.suppress(DuplicateKeyError):
            self._records.insert_one(document)
        return str(document["_id"])

    def settle(self, record_id: str, record: UsageRecord) -> None:
        with storage_errors():
            self._records.replace_one(
                {"_id": _object_id(record_id), "owner": record.owner}, _fields(record), upsert=True
            )

    def discard(self, record_id: str, *, owner: str) -> None:
        with storage_errors():
            self._records.delete_one(
                {"_id": _object_id(record_id), "owner": owner, "pending": True}
            )

    def spent_usd(self, *, owner: str, key_id: str, first_day: date, last_day: date) -> float:
        days = {"$gte": first_day.isoformat(), "$lte": last_day.isoformat()}
        wanted: Document = {"owner": owner, "day": days}
        if key_id:
            wanted["key_id"] = key_id
        with storage_errors():
            documents = list(self._records.find(wanted, projection={"cost_usd": 1}))
        return sum(float(d["cost_usd"]) for d in documents)

    def records(self, *, owner: str, first_day: date, last_day: date) -> list[UsageRecord]:
        days = {"$gte": first_day.isoformat(), "$lte": last_day.isoformat()}
        with storage_errors():
            documents = list(self._records.find({"owner": owner, "day": days}))
        return [_record(d) for d in documents if not d.get("pending")]


def _fields(record: UsageRecord) -> Document:
    at = to_stored(record.at)
    return {
        "owner": record.owner,
        "key_id": record.key_id,
        "turn_id": record.turn_id,
        "day": at.date().isoformat(),
        "at": at,
        **record.call.to_json(),
        "pending": record.pending,
    }


def _record(document: Document) -> UsageRecord:
    return UsageRecord(
        owner=document["owner"],
        key_id=document.get("key_id", ""),
        turn_id=document.get("turn_id", ""),
        at=to_stored(document["at"]),
        call=ModelCall.from_json(document),
    )


def _object_id(record_id: str) -> ObjectId:
    try:
        return ObjectId(record_id)
    except InvalidId:
        raise ValueError(f"not a usage record id: {record_id!r}") from None
