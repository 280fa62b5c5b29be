"""MongoConversationRepository: the ConversationRepository port over plain pymongo.

Indexes come from `migrations/` (v0001); this module assumes them and creates none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

import pymongo
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import OperationFailure

from chat_service.adapters.mongo.abandoned_transactions import AbandonedTransactions
from chat_service.adapters.mongo.conversation_pages import check_page_size, conversation_page
from chat_service.adapters.mongo.documents import (
    CONVERSATION_FIELDS,
    Document,
    conversation_document,
    conversation_object_id,
    message_documents,
    summary_document,
    to_conversation,
    to_message,
    to_summary,
)
from chat_service.adapters.mongo.history_cache import HistoryCache
from chat_service.adapters.mongo.idempotency import COLLECTION as IDEMPOTENCY_COLLECTION
from chat_service.adapters.mongo.idempotency import complete_in_transaction
from chat_service.adapters.mongo.page_tokens import (
    decode_message_token,
    encode_message_token,
)
from chat_service.adapters.mongo.transactions import KeyedLocks, run_transaction, storage_errors
from chat_service.adapters.mongo.turn_storage import (
    HEADER_SUMMARY,
    BulkWrites,
    header_summary,
    read_turn,
    write_turn,
)
from chat_service.core.errors import ConversationNotFound, TurnConflict
from chat_service.core.models import (
    Conversation,
    ConversationPage,
    Message,
    MessagePage,
    NewMessage,
    SessionInfo,
    Summary,
)
from chat_service.core.timestamps import to_stored
from chat_service.ports.idempotency import Receipt
from chat_service.ports.repository import TurnContext

_T = TypeVar("_T")

# Messages read at first when looking for the last turn: a turn with a few tool rounds fits.
LAST_TURN_WINDOW = 16
# The messages of a turn's prompt: everything but their usage.
_WITHOUT_USAGE: Document = {"usage": 0}


def _prompt_messages(documents: list[Document]) -> list[Message]:
    """The messages of `documents` as a turn's read gives them (without their usage)."""
    return [
        to_message({key: value for key, value in document.items() if key != "usage"})
        for document in documents
    ]


class MongoConversationRepository:
    """Conversations in `conversations`, one document per message in `messages`.

    Writes that touch both collections run in one multi-document transaction. Every
    transaction, including its retries after write conflicts, is bounded by
    `transaction_timeout_s` (default: the client's server selection timeout); past it,
    methods raise WriteConflict if other transactions still held the documents, and
    StorageUnavailable otherwise and whenever the server cannot be reached. Transactions
    given up while the server did not answer are aborted once it answers again (see
    AbandonedTransactions); `close` stops that.
    """

    def __init__(
        self,
        database: Database[Document],
        *,
        transaction_timeout_s: float | None = None,
        history: HistoryCache | None = None,
    ) -> None:
        self._database = database
        # The latest messages of the conversations used here lately: a turn that follows one
        # in this process reads its header alone (see HistoryCache).
        self._history = history if history is not None else HistoryCache()
        self._conversations = database["conversations"]
        self._messages = database["messages"]
        self._summaries = database["summaries"]
        self._tombstones = database["deleted_conversations"]
        self._transaction_timeout_s = (
            database.client.options.server_selection_timeout
            if transaction_timeout_s is None
            else transaction_timeout_s
        )
        # Concurrent appends to one conversation all write its header, so their transactions
        # conflict and retry: measured against secantusd, 50 threads made ~8 attempts each
        # (0.8 s in all) without this lock, 1 attempt each (0.1 s) with it. Transactions from
        # other processes can still conflict; with_transaction retries those.
        self._append_locks = KeyedLocks()
        self._abandoned = AbandonedTransactions(
            [
                self._conversations,
                self._messages,
                self._summaries,
                self._tombstones,
                database[IDEMPOTENCY_COLLECTION],
            ]
        )
        self._bulk_writes = BulkWrites()

    def create(
        self,
        *,
        owner: str,
        title: str,
        session: SessionInfo,
        messages: Sequence[NewMessage],
        now: datetime,
        receipt: Receipt | None = None,
        conversation_id: str = "",
        model: str = "",
        instructions: str = "",
    ) -> Conversation:
        """Stores the conversation and its first messages (seq 0..) in one transaction."""
        stored_now = to_stored(now)
        object_id = ObjectId(conversation_id) if conversation_id else ObjectId()
        header = conversation_document(
            object_id,
            owner=owner,
            title=title,
            session=session,
            message_count=len(messages),
            now=stored_now,
            model=model,
            instructions=instructions,
        )
        header[HEADER_SUMMARY] = None
        documents = message_documents(object_id, 0, list(messages), stored_now)

        def insert_all(db_session: ClientSession) -> None:
            self._conversations.insert_one(header, session=db_session)
            if documents:
                self._messages.insert_many(documents, ordered=True, session=db_session)
            if receipt is not None:
                complete_in_transaction(self._database, receipt, str(object_id), db_session)

        deadline = time.monotonic() + self._transaction_timeout_s
        run_transaction(
            self._database.client, insert_all, deadline=deadline, abandoned=self._abandoned
        )
        self._history.put(
            str(object_id), count=len(documents), first_seq=0, messages=_prompt_messages(documents)
        )
        return to_conversation(header)

    def new_conversation_id(self) -> str:
        """Returns a new ObjectId's hex (ids keep increasing in creation order)."""
        return str(ObjectId())

    def append(
        self,
        *,
        owner: str,
        conversation_id: str,
        messages: Sequence[NewMessage],
        now: datetime,
        summary: Summary | None = None,
        expected_count: int | None = None,
        receipt: Receipt | None = None,
        deactivate: tuple[int, int] | None = None,
        read: Conversation | None = None,
    ) -> Conversation:
        """Reserves the next seqs on the header and inserts the messages (and the summary,
        also copied onto the header), in one transaction; marks the messages with seq in
        `deactivate` [first, end) inactive in the same transaction.

        Appending nothing writes nothing and returns the header as it is. With
        `expected_count` (or `read`, the header the turn read), the header matches only at
        that message count (TurnConflict if it moved on). With `read`, the whole write is one
        bulkWrite and a commit (see turn_storage).
        """
        object_id = conversation_object_id(conversation_id)
        if not messages:
            return self.get(owner=owner, conversation_id=conversation_id)
        stored_now = to_stored(now)
        new_messages = list(messages)
        if read is not None:
            expected_count = read.message_count

        wanted: Document = {"_id": object_id, "owner": owner}
        if expected_count is not None:
            wanted["message_count"] = expected_count
        header_update: Document = {
            "$inc": {"message_count": len(new_messages)},
            "$max": {"updated_at": stored_now},
        }
        if summary is not None:
            header_update["$set"] = {HEADER_SUMMARY: header_summary(summary)}
        summary_doc = None if summary is None else summary_document(object_id, summary, stored_now)

        written: list[Document] = []  # the documents of the attempt that committed

        def reserve_and_insert(db_session: ClientSession) -> Document:
            header = self._conversations.find_one_and_update(
                wanted,
                header_update,
                projection=CONVERSATION_FIELDS,
                return_document=ReturnDocument.AFTER,
                session=db_session,
            )
            if header is None:
                mine = {"_id": object_id, "owner": owner}
                if expected_count is not None and self._conversations.count_documents(
                    mine, limit=1, session=db_session
                ):
                    raise TurnConflict()
                raise ConversationNotFound(conversation_id)
            first_seq = header["message_count"] - len(new_messages)
            documents = message_documents(object_id, first_seq, new_messages, stored_now)
            written[:] = documents
            self._messages.insert_many(documents, ordered=True, session=db_session)
            if deactivate is not None:
                # A seq range on the unique index: as many documents as the replaced turn has.
                self._messages.update_many(
                    {
                        "conversation_id": object_id,
                        "seq": {"$gte": deactivate[0], "$lt": deactivate[1]},
                    },
                    {"$set": {"inactive": True}},
                    session=db_session,
                )
            if summary_doc is not None:
                self._summaries.insert_one(summary_doc, session=db_session)
            if receipt is not None:
                complete_in_transaction(self._database, receipt, conversation_id, db_session)
            return header

        def in_bulk(db_session: ClientSession) -> None:
            assert read is not None
            written[:] = message_documents(object_id, read.message_count, new_messages, stored_now)
            write_turn(
                self._database,
                db_session,
                wanted=wanted,
                header_update=header_update,
                documents=written,
                summary=summary_doc,
                receipt=receipt,
                conversation_id=conversation_id,
            )

        deadline = time.monotonic() + self._transaction_timeout_s
        with self._append_locks.hold(conversation_id, deadline=deadline):
            # A turn that replaces alternatives (deactivate) takes the per-collection path.
            if read is not None and deactivate is None and self._bulk_writes.supported:
                try:
                    self._transaction(in_bulk, deadline)
                except OperationFailure as exc:
                    if not self._bulk_writes.unsupported(exc):
                        raise
                else:
                    self._history.appended(
                        conversation_id,
                        before=read.message_count,
                        added=_prompt_messages(written),
                    )
                    return replace(
                        read,
                        message_count=read.message_count + len(new_messages),
                        updated_at=max(read.updated_at, stored_now),
                    )
            try:
                header = self._transaction(reserve_and_insert, deadline)
            except BaseException:
                self._history.forget(conversation_id)
                raise
        if deactivate is None:
            count = int(header["message_count"])
            self._history.appended(
                conversation_id, before=count - len(written), added=_prompt_messages(written)
            )
        else:  # older messages changed too
            self._history.forget(conversation_id)
        return to_conversation(header)

    def _transaction(self, callback: Callable[[ClientSession], _T], deadline: float) -> _T:
        return run_transaction(
            self._database.client, callback, deadline=deadline, abandoned=self._abandoned
        )

    def turn_context(
        self, *, owner: str, conversation_id: str, history_messages: int
    ) -> TurnContext:
        """Returns the header, the latest summary (from the header's copy) and the last
        `history_messages` messages after it: two queries, each on an index."""
        object_id = conversation_object_id(conversation_id)
        return read_turn(
            self._conversations,
            self._summaries,
            owner=owner,
            conversation_id=conversation_id,
            object_id=object_id,
            history_messages=history_messages,
            messages_after=lambda oid, first_seq, count: self._history_of(
                conversation_id, oid, first_seq, count
            ),
        )

    def _history_of(
        self, conversation_id: str, object_id: ObjectId, first_seq: int, count: int
    ) -> list[Message]:
        """The messages from `first_seq` of the conversation at `count` messages."""
        held = self._history.get(conversation_id, count=count, first_seq=first_seq)
        if held is not None:
            return held
        # Without their usage (the prompt needs none of it): a fifth of the decoding.
        documents = self._messages_in_range(object_id, first_seq, None, projection=_WITHOUT_USAGE)
        messages = [to_message(document) for document in documents]
        self._history.put(conversation_id, count=count, first_seq=first_seq, messages=messages)
        return messages

    def get(self, *, owner: str, conversation_id: str) -> Conversation:
        """Returns the header; ConversationNotFound if missing, malformed or another owner's."""
        object_id = conversation_object_id(conversation_id)
        with storage_errors():
            header = self._conversations.find_one(
                {"_id": object_id, "owner": owner}, projection=CONVERSATION_FIELDS
            )
        if header is None:
            raise ConversationNotFound(conversation_id)
        return to_conversation(header)

    def recent_messages(
        self,
        *,
        owner: str,
        conversation_id: str,
        limit: int,
        first_seq: int = 0,
        before_seq: int | None = None,
    ) -> list[Message]:
        """Returns the last `limit` messages with seq >= `first_seq` and < `before_seq`
        (default: all), oldest first ([] if `limit` <= 0).

        Raises ConversationNotFound if the owner has no such conversation. Reads the header's
        message_count first so the message query is a seq range of about `limit` index
        entries, whatever the conversation's length.
        """
        if limit <= 0:
            return []
        object_id = conversation_object_id(conversation_id)
        end = self._message_count(owner, object_id, conversation_id)
        if before_seq is not None:
            end = min(end, before_seq)
        start = max(0, first_seq, end - limit)
        documents = self._messages_in_range(object_id, start, end)
        return [to_message(document) for document in documents[-limit:]]

    def latest_summary(self, *, conversation_id: str) -> Summary | None:
        """Returns the conversation's summary with the highest end_seq, or None."""
        object_id = conversation_object_id(conversation_id)
        with storage_errors():
            document = self._summaries.find_one(
                {"conversation_id": object_id}, sort=[("end_seq", pymongo.DESCENDING)]
            )
        return None if document is None else to_summary(document)

    def list_conversations(
        self, *, owner: str, page_size: int, page_token: str
    ) -> ConversationPage:
        """Returns up to `page_size` (>= 1) conversations ordered by (created_at, id) descending.

        Raises InvalidPageToken for a token not issued by `list_conversations`.
        """
        check_page_size(page_size)
        return conversation_page(
            self._conversations, owner=owner, page_size=page_size, page_token=page_token
        )

    def list_messages(
        self, *, owner: str, conversation_id: str, page_size: int, page_token: str
    ) -> MessagePage:
        """Returns up to `page_size` (>= 1) messages from the token's seq on, oldest first.

        Raises ConversationNotFound if the owner has no such conversation, InvalidPageToken for a
        token not issued by `list_messages`.
        """
        check_page_size(page_size)
        first_seq = decode_message_token(page_token) if page_token else 0
        object_id = conversation_object_id(conversation_id)
        message_count = self._message_count(owner, object_id, conversation_id)
        end_seq = min(first_seq + page_size, message_count)
        documents = self._messages_in_range(object_id, first_seq, end_seq)
        messages = tuple(to_message(document) for document in documents)
        next_token = encode_message_token(end_seq) if end_seq < message_count else ""
        return MessagePage(messages, next_token)

    def delete(self, *, owner: str, conversation_id: str, now: datetime) -> bool:
        """Removes the header and leaves a tombstone in one transaction (from then on the
        conversation is gone for every reader, and a turn's append finds no header), then
        its messages, summaries, sessions and idempotency records. The clean-up is
        idempotent and runs again when the owner deletes it a second time."""
        object_id = conversation_object_id(conversation_id)
        mine: Document = {"_id": object_id, "owner": owner}

        def remove_header(db_session: ClientSession) -> bool:
            removed = self._conversations.delete_one(mine, session=db_session)
            if removed.deleted_count:
                self._tombstones.insert_one(
                    {**mine, "deleted_at": to_stored(now)}, session=db_session
                )
                return True
            if self._tombstones.count_documents(mine, limit=1, session=db_session):
                return False
            raise ConversationNotFound(conversation_id)

        deadline = time.monotonic() + self._transaction_timeout_s
        with self._append_locks.hold(conversation_id, deadline=deadline):
            deleted = run_transaction(
                self._database.client,
                remove_header,
                deadline=deadline,
                abandoned=self._abandoned,
            )
        self._history.forget(conversation_id)
        with storage_errors():
            self._messages.delete_many({"conversation_id": object_id})
            self._summaries.delete_many({"conversation_id": object_id})
            self._database["sessions"].delete_many(
                {"conversation_id": conversation_id, "owner": owner}
            )
            self._database[IDEMPOTENCY_COLLECTION].delete_many(
                {"owner": owner, "outcome.conversation_id": conversation_id}
            )
        return bool(deleted)

    def update(
        self,
        *,
        owner: str,
        conversation_id: str,
        now: datetime,
        title: str | None = None,
        model: str | None = None,
        instructions: str | None = None,
    ) -> Conversation:
        """Sets what is not None: the title (marked as the owner's own, `title_source:
        "owner"`), the model and the instructions ("" removes the field: the default)."""
        object_id = conversation_object_id(conversation_id)
        changes: Document = {"$max": {"updated_at": to_stored(now)}}
        kept: Document = {}
        removed: Document = {}
        if title is not None:
            kept.update(title=title, title_source="owner")
        for name, value in (("model", model), ("instructions", instructions)):
            if value:
                kept[name] = value
            elif value is not None:
                removed[name] = ""
        if kept:
            changes["$set"] = kept
        if removed:
            changes["$unset"] = removed
        with storage_errors():
            header = self._conversations.find_one_and_update(
                {"_id": object_id, "owner": owner},
                changes,
                projection=CONVERSATION_FIELDS,
                return_document=ReturnDocument.AFTER,
            )
        if header is None:
            raise ConversationNotFound(conversation_id)
        return to_conversation(header)

    def last_turn(self, *, owner: str, conversation_id: str) -> list[Message]:
        """Returns the conversation's last active user message and every message after it
        (replaced alternatives included), oldest first; [] when it has no user message.

        Reads seq windows back from the end on the unique (conversation_id, seq) index, each
        four times the last, until one holds an active user message: the read grows with the
        last turn (and its alternatives), never with the conversation, and needs no index
        beyond the one every append maintains anyway.
        """
        object_id = conversation_object_id(conversation_id)
        end = self._message_count(owner, object_id, conversation_id)
        window = LAST_TURN_WINDOW
        while True:
            start = max(0, end - window)
            documents = self._messages_in_range(object_id, start, end)
            for index in range(len(documents) - 1, -1, -1):
                found = documents[index]
                if found["role"] == "user" and not found.get("inactive"):
                    return [to_message(document) for document in documents[index:]]
            if start == 0:
                return []
            window *= 4

    def close(self) -> None:
        """Stops aborting abandoned transactions; call before closing the client."""
        self._abandoned.close()

    def ping(self) -> None:
        """Returns when the server answers `ping`; raises StorageUnavailable otherwise."""
        with storage_errors():
            self._database.command("ping")

    def _message_count(self, owner: str, object_id: ObjectId, conversation_id: str) -> int:
        # The owner is the shard key's prefix: with it, a sharded cluster asks one shard.
        with storage_errors():
            header = self._conversations.find_one(
                {"_id": object_id, "owner": owner}, {"message_count": True}
            )
        if header is None:
            raise ConversationNotFound(conversation_id)
        return int(header["message_count"])

    def _messages_in_range(
        self,
        object_id: ObjectId,
        first_seq: int,
        end_seq: int | None,
        *,
        projection: Document | None = None,
    ) -> list[Document]:
        # Seqs are dense (0..message_count-1, each count committed with its messages), so a seq
        # range bounds the index scan exactly.
        seq_range: Document = {"$gte": first_seq}
        if end_seq is not None:
            seq_range["$lt"] = end_seq
        with storage_errors():
            return list(
                self._messages.find(
                    {"conversation_id": object_id, "seq": seq_range}, projection
                ).sort("seq", pymongo.ASCENDING)
            )
