"""Zero lost messages: what the clients were told against what the database holds."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pymongo
from bson import ObjectId


@dataclass
class Ledger:
    """The turns acknowledged to clients (HTTP 200) and those refused, thread-safe."""

    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (conversation, message)
    refused: list[str] = field(default_factory=list)  # the refused user messages
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, conversation_id: str, message: str) -> None:
        with self._lock:
            self.acknowledged.append((conversation_id, message))

    def refuse(self, message: str) -> None:
        with self._lock:
            self.refused.append(message)


def stored_user_messages(mongo_uri: str, database: str) -> Counter[tuple[str, str]]:
    """Returns how many times each (conversation id, user message) is stored."""
    with pymongo.MongoClient(mongo_uri) as client:
        rows = client[database].messages.find(
            {"role": "user"}, {"conversation_id": 1, "content": 1}
        )
        return Counter((str(r["conversation_id"]), r["content"]) for r in rows)


def assert_consistent(mongo_uri: str, database: str, ledger: Ledger) -> None:
    """Every acknowledged turn is stored exactly once; every conversation is whole.

    Whole: seqs run 0..n-1 without gaps, `message_count` is n, and the last message is the
    assistant's (a stored user message always has its reply: nothing is half-written).
    """
    stored = stored_user_messages(mongo_uri, database)
    for key in ledger.acknowledged:
        assert stored[key] == 1, f"acknowledged turn {key} is stored {stored[key]} times"
    duplicates = {key: n for key, n in stored.items() if n > 1}
    assert not duplicates, f"stored more than once: {duplicates}"
    with pymongo.MongoClient(mongo_uri) as client:
        db = client[database]
        for conversation in db.conversations.find():
            _assert_whole(db, conversation)


def _assert_whole(db: Any, conversation: dict[str, Any]) -> None:
    conversation_id: ObjectId = conversation["_id"]
    messages = list(db.messages.find({"conversation_id": conversation_id}).sort("seq", 1))
    assert [m["seq"] for m in messages] == list(range(len(messages))), conversation_id
    assert conversation["message_count"] == len(messages), conversation_id
    assert messages, conversation_id
    assert messages[-1]["role"] == "assistant", conversation_id
