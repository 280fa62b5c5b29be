"""Erases everything MongoDB holds for one owner, in bounded batches, so that running it again
finishes an erasure that was interrupted.

What goes, in this order:

1. `api_keys` of the owner, when asked: first, so the owner's clients stop getting in (the
   service remembers a key for `API_KEY_CACHE_S` more seconds).
2. `conversations` of the owner, each after its `messages`, `summaries` and the
   `idempotency_keys` records of its turns: a header that is still there names work left.
3. `deleted_conversations`: the owner's tombstones, after whatever a DeleteConversation left
   behind of those conversations.
4. `sessions` of the owner (and their copies in the session cache, when one is given).
5. `idempotency_keys` records that name the owner, those of turns that never completed
   included (records stored before they named their owner go with their conversations, 2-3).
6. `usage`: the owner's usage records (what each model call cost), in batches.
7. `budgets` of the owner and of its keys, with the keys only: an owner that keeps its keys
   keeps its limits.
7. `owner_settings`: the owner's default instructions.

The owner's response-cache generation lives in Redis: the command line bumps it afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from bson import ObjectId
from pymongo.database import Database

from chat_service.ports.sessions import SessionCache, SessionKey

Document = dict[str, Any]
DEFAULT_BATCH_SIZE = 50
# At most this many messages go in one delete: a long conversation is cut into seq windows
# on the (conversation_id, seq) index, so no single operation outlasts the client's timeout.
MESSAGES_PER_DELETE = 1000

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """How many documents an erasure removed, per collection."""

    owner: str
    api_keys: int = 0
    conversations: int = 0
    messages: int = 0
    summaries: int = 0
    idempotency_keys: int = 0
    deleted_conversations: int = 0
    sessions: int = 0
    usage: int = 0
    budgets: int = 0
    owner_settings: int = 0

    def counts(self) -> dict[str, int]:
        """Returns the removed documents by collection name, in the order they go."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "owner"}


class OwnerErasure:
    """Removes one owner's documents from `database`; see the module docstring."""

    def __init__(
        self,
        database: Database[Document],
        *,
        session_cache: SessionCache | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self._db = database
        self._session_cache = session_cache
        self._batch_size = batch_size

    def erase(self, owner: str, *, api_keys: bool) -> ErasureReport:
        """Erases `owner`'s data (and with `api_keys` its keys); returns what it removed.

        Idempotent: a second run removes what the first did not get to. Raises PyMongoError.
        """
        removed: Counter[str] = Counter()
        if api_keys:
            removed["api_keys"] = self._db["api_keys"].delete_many({"owner": owner}).deleted_count
        self._erase_conversations(owner, removed)
        self._erase_tombstones(owner, removed)
        self._erase_sessions(owner, removed)
        records = self._db["idempotency_keys"].delete_many({"owner": owner})
        removed["idempotency_keys"] += records.deleted_count
        self._erase_usage(owner, removed)
        if api_keys:
            removed["budgets"] = self._db["budgets"].delete_many({"owner": owner}).deleted_count
        settings = self._db["owner_settings"].delete_one({"_id": owner})  # default instructions
        removed["owner_settings"] = settings.deleted_count
        return ErasureReport(owner, **removed)

    def _erase_usage(self, owner: str, removed: Counter[str]) -> None:
        usage = self._db["usage"]
        found = usage.find({"owner": owner}, {"_id": True}, batch_size=MESSAGES_PER_DELETE)
        for chunk in _batches(found, MESSAGES_PER_DELETE):
            ids = [record["_id"] for record in chunk]
            gone = usage.delete_many({"_id": {"$in": ids}, "owner": owner})
            removed["usage"] += gone.deleted_count

    def _erase_conversations(self, owner: str, removed: Counter[str]) -> None:
        conversations = self._db["conversations"]
        while True:
            # A fresh query each round on the (owner, ...) index: what is left, never a cursor
            # over documents being deleted.
            headers = list(
                conversations.find(
                    {"owner": owner}, {"message_count": True}, limit=10 * self._batch_size
                )
            )
            if not headers:
                return
            for chunk in _by_message_budget(headers, self._batch_size):
                ids = [header["_id"] for header in chunk]
                for header in chunk:
                    self._erase_long_history(header, removed)
                self._erase_dependents(ids, removed)
                gone = conversations.delete_many({"_id": {"$in": ids}, "owner": owner})
                removed["conversations"] += gone.deleted_count
                # A turn committed just before its header went can have added messages after
                # the first pass; none can be added once the header is gone.
                self._erase_dependents(ids, removed)

    def _erase_long_history(self, header: Document, removed: Counter[str]) -> None:
        messages = self._db["messages"]
        windows = range(MESSAGES_PER_DELETE, _message_count(header) + 1, MESSAGES_PER_DELETE)
        for end in windows:
            window = {"conversation_id": header["_id"], "seq": {"$lt": end}}
            removed["messages"] += messages.delete_many(window).deleted_count

    def _erase_dependents(self, ids: Sequence[ObjectId], removed: Counter[str]) -> None:
        names = [str(i) for i in ids]
        for collection, query in (
            ("messages", {"conversation_id": {"$in": list(ids)}}),
            ("summaries", {"conversation_id": {"$in": list(ids)}}),
            ("idempotency_keys", {"outcome.conversation_id": {"$in": names}}),
        ):
            removed[collection] += self._db[collection].delete_many(query).deleted_count

    def _erase_tombstones(self, owner: str, removed: Counter[str]) -> None:
        tombstones = self._db["deleted_conversations"]
        found = tombstones.find({"owner": owner}, {"_id": True}, batch_size=self._batch_size)
        for chunk in _batches(found, self._batch_size):
            ids = [tombstone["_id"] for tombstone in chunk]
            self._erase_dependents(ids, removed)
            gone = tombstones.delete_many({"_id": {"$in": ids}, "owner": owner})
            removed["deleted_conversations"] += gone.deleted_count

    def _erase_sessions(self, owner: str, removed: Counter[str]) -> None:
        sessions = self._db["sessions"]
        found = sessions.find(
            {"owner": owner},
            {"platform": True, "chat_id": True, "user_id": True},
            batch_size=self._batch_size,
        )
        for chunk in _batches(found, self._batch_size):
            if self._session_cache is not None:
                for session in chunk:
                    key = SessionKey(
                        owner=owner,
                        platform=session.get("platform", ""),
                        chat_id=session.get("chat_id", ""),
                        user_id=session.get("user_id", ""),
                    )
                    self._session_cache.drop(key)
            ids = [session["_id"] for session in chunk]
            gone = sessions.delete_many({"_id": {"$in": ids}, "owner": owner})
            removed["sessions"] += gone.deleted_count


def _message_count(header: Document) -> int:
    return int(header.get("message_count") or 0)


def _by_message_budget(headers: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """Groups headers into chunks of at most `size` whose messages, past the windows a long
    conversation is deleted in first, add up to about MESSAGES_PER_DELETE."""
    chunk: list[Document] = []
    weight = 0
    for header in headers:
        left = _message_count(header) % MESSAGES_PER_DELETE
        if chunk and (len(chunk) == size or weight + left > MESSAGES_PER_DELETE):
            yield chunk
            chunk, weight = [], 0
        chunk.append(header)
        weight += left
    if chunk:
        yield chunk


def _batches(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
