"""A turn's storage in few round trips: its read (header with the latest summary, then the
messages after it) and its write (one bulkWrite command in the transaction).

The header carries a copy of the conversation's latest summary (`summary`, None when there is
none), written with it in the same transaction, so the read needs no query on `summaries`.
A header written before it had the field gets it on its next turn's read (one more query,
once). The write sends the header's update, the messages, the summary and the idempotency
receipt as one `bulkWrite` (MongoDB 8.0+), then commits: two round trips; a server without
that command gets the per-collection commands instead (`BulkWrites`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import pymongo
from bson import ObjectId
from pymongo import InsertOne, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import ClientBulkWriteException, OperationFailure, PyMongoError

from chat_service.adapters.mongo.documents import (
    CONVERSATION_FIELDS,
    Document,
    to_conversation,
    to_summary,
)
from chat_service.adapters.mongo.idempotency import COLLECTION as IDEMPOTENCY_COLLECTION
from chat_service.adapters.mongo.idempotency import receipt_update
from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.errors import ConversationNotFound, TurnConflict
from chat_service.core.models import Message, Summary
from chat_service.ports.idempotency import Receipt
from chat_service.ports.repository import TurnContext

HEADER_SUMMARY = "summary"
TURN_HEADER_FIELDS = {**CONVERSATION_FIELDS, HEADER_SUMMARY: True}
_COMMAND_NOT_FOUND = 59
_NO_SUCH_COMMAND = (_COMMAND_NOT_FOUND, 115)  # 115: CommandNotSupported
# A server that takes bulkWrite but not an argument the driver adds in some cases (the
# readConcern of a retried transaction's first statement): that turn writes command by command.
_UNKNOWN_FIELD = 40415


def header_summary(summary: Summary | None) -> Document | None:
    """The copy of `summary` a header carries."""
    if summary is None:
        return None
    return {"content": summary.content, "first_seq": summary.first_seq, "end_seq": summary.end_seq}


def read_turn(
    conversations: Collection[Document],
    summaries: Collection[Document],
    *,
    owner: str,
    conversation_id: str,
    object_id: ObjectId,
    history_messages: int,
    messages_after: Callable[[ObjectId, int, int], list[Message]],
) -> TurnContext:
    """Returns the turn's context; `messages_after(object_id, first_seq, count)` reads the
    messages from `first_seq` on of the conversation at `count` messages. Raises
    ConversationNotFound."""
    with storage_errors():
        header = conversations.find_one({"_id": object_id, "owner": owner}, TURN_HEADER_FIELDS)
    if header is None:
        raise ConversationNotFound(conversation_id)
    if HEADER_SUMMARY in header:
        stored = header[HEADER_SUMMARY]
        summary = None if stored is None else to_summary(stored)
    else:
        summary = _heal(conversations, summaries, object_id)
    count = int(header["message_count"])
    messages: list[Message] = []
    if history_messages > 0:
        start = max(0, summary.end_seq if summary else 0, count - history_messages)
        messages = messages_after(object_id, start, count)[-history_messages:]
    return TurnContext(to_conversation(header), summary, messages)


def _heal(
    conversations: Collection[Document], summaries: Collection[Document], object_id: ObjectId
) -> Summary | None:
    """Reads the latest summary of a header that has no copy yet, and gives it one (only if it
    still has none: a turn that stored a newer summary meanwhile wrote its own)."""
    with storage_errors():
        document = summaries.find_one(
            {"conversation_id": object_id}, sort=[("end_seq", pymongo.DESCENDING)]
        )
        summary = None if document is None else to_summary(document)
        conversations.update_one(
            {"_id": object_id, HEADER_SUMMARY: {"$exists": False}},
            {"$set": {HEADER_SUMMARY: header_summary(summary)}},
        )
    return summary


class BulkWrites:
    """Whether the server takes the `bulkWrite` command; learned once per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.supported = True

    def unsupported(self, exc: OperationFailure) -> bool:
        """True if the turn must be written command by command: `exc` says the server has no
        `bulkWrite` command (remembered) or refused one of its arguments (this time only)."""
        if exc.code == _UNKNOWN_FIELD:
            return True
        if exc.code not in _NO_SUCH_COMMAND:
            return False
        with self._lock:
            self.supported = False
        return True


def write_turn(
    database: Database[Document],
    db_session: ClientSession,
    *,
    wanted: Document,
    header_update: Document,
    documents: Sequence[Document],
    summary: Document | None,
    receipt: Receipt | None,
    conversation_id: str,
) -> None:
    """Updates the header matching `wanted` and inserts the messages, the summary and the
    receipt's outcome in one bulkWrite inside the transaction of `db_session`.

    Raises TurnConflict (aborting the transaction) if the header is not at the version in
    `wanted` but exists, or the receipt's claim was taken over; ConversationNotFound if the
    header is gone.
    """
    conversations = database["conversations"]
    namespace = f"{database.name}.%s"
    operations: list[Any] = [
        UpdateOne(wanted, header_update, namespace=namespace % "conversations"),
        *(InsertOne(document, namespace=namespace % "messages") for document in documents),
    ]
    if summary is not None:
        operations.append(InsertOne(summary, namespace=namespace % "summaries"))
    if receipt is not None:
        selector, update = receipt_update(receipt, conversation_id)
        operations.append(UpdateOne(selector, update, namespace=namespace % IDEMPOTENCY_COLLECTION))
    try:
        result = database.client.bulk_write(
            operations, session=db_session, ordered=True, verbose_results=True
        )
    except ClientBulkWriteException as exc:
        if isinstance(exc.error, PyMongoError):
            # The command as a whole failed (network, timeout, write conflict): raise that
            # error itself, whose labels and type drive the transaction's retries and the
            # unavailable answer, as with one command per collection.
            raise exc.error from exc
        # A header past the version read has messages at the seqs this turn wanted: the
        # inserts fail (and the server aborts the transaction). Anything else propagates.
        partial = exc.partial_result
        first = partial.update_results.get(0) if partial and partial.has_verbose_results else None
        if first is None or first.matched_count == 1:
            raise
        _refused(conversations, wanted, conversation_id)
    updates = result.update_results
    if updates[0].matched_count != 1:
        _refused(conversations, wanted, conversation_id)
    if receipt is not None and updates[len(operations) - 1].matched_count != 1:
        raise TurnConflict()


def _refused(
    conversations: Collection[Document], wanted: Document, conversation_id: str
) -> NoReturn:
    """Raises TurnConflict if the conversation still exists (it moved past the version read),
    else ConversationNotFound. Reads outside the transaction, which may be aborted already."""
    with storage_errors():
        exists = conversations.count_documents(
            {"_id": wanted["_id"], "owner": wanted["owner"]}, limit=1
        )
    if exists:
        raise TurnConflict()
    raise ConversationNotFound(conversation_id)
