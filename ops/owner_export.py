"""One owner's conversations with their messages as JSON Lines, streamed with flat memory.

Each line is one conversation, oldest first (creation time, then id):

    {"id", "title", "created_at", "updated_at", "platform", "chat_id", "user_id",
     "messages": [{"seq", "role", "content", "created_at", "tool_calls": [{"id", "name",
                   "arguments"}], "tool_call_id", "tool_name"}, ...]}

Times are UTC ISO 8601 with milliseconds (`2026-01-01T09:30:00.000Z`); text is ASCII-escaped
JSON, so no reader splits a line inside a message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from chat_service.adapters.mongo.documents import CONVERSATION_FIELDS, to_conversation, to_message
from chat_service.core.models import Conversation, Message

Document = dict[str, Any]
DEFAULT_BATCH_SIZE = 500

_ORDER = [("created_at", ASCENDING), ("_id", ASCENDING)]


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export wrote."""

    owner: str
    conversations: int
    messages: int
    bytes: int


def export_owner(
    database: Database[Document],
    owner: str,
    out: BinaryIO,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ExportReport:
    """Writes every conversation of `owner` to `out` as one JSON line; returns the counts.

    Headers are read a page of `batch_size` at a time (each page a fresh query after the last
    one seen, so no cursor idles while a long conversation is written), and a conversation's
    messages come from a cursor on the (conversation_id, seq) index in batches of
    `batch_size`, each written as it arrives: memory stays flat however many conversations
    and messages there are. A conversation holds the messages its header counts, so a turn
    stored meanwhile is in the export whole or not at all. Raises PyMongoError and OSError.
    """
    messages = database["messages"]
    conversations = messages_written = size = 0
    for header in _headers(database["conversations"], owner, batch_size):
        conversation = to_conversation(header)
        line = _dumps(_conversation_json(conversation))
        size += _write(out, line[:-1] + b',"messages":[')
        cursor = messages.find(
            {
                "conversation_id": header["_id"],
                "seq": {"$lt": conversation.message_count},
            },
            sort=[("seq", ASCENDING)],
            batch_size=batch_size,
        )
        for n, document in enumerate(cursor):
            size += _write(out, (b"," if n else b"") + _dumps(_message_json(to_message(document))))
            messages_written += 1
        size += _write(out, b"]}\n")
        conversations += 1
    return ExportReport(owner, conversations, messages_written, size)


def _headers(conversations: Collection[Document], owner: str, page_size: int) -> Iterator[Document]:
    page = _page(conversations, {"owner": owner}, page_size)
    while page:
        yield from page
        if len(page) < page_size:
            return
        last = page[-1]
        # Two range queries instead of one $or, as in the repository's listing: both stay on
        # the (owner, created_at, _id) index on any server.
        same_time = {"owner": owner, "created_at": last["created_at"], "_id": {"$gt": last["_id"]}}
        page = _page(conversations, same_time, page_size)
        if len(page) < page_size:
            later = {"owner": owner, "created_at": {"$gt": last["created_at"]}}
            page += _page(conversations, later, page_size - len(page))


def _page(conversations: Collection[Document], query: Document, limit: int) -> list[Document]:
    return list(conversations.find(query, CONVERSATION_FIELDS, sort=_ORDER, limit=limit))


def _conversation_json(conversation: Conversation) -> dict[str, object]:
    exported: dict[str, object] = {
        "id": conversation.id,
        "title": conversation.title,
        "created_at": _time(conversation.created_at),
        "updated_at": _time(conversation.updated_at),
        "platform": conversation.session.platform,
        "chat_id": conversation.session.chat_id,
        "user_id": conversation.session.user_id,
    }
    # Settings appear only when set, as they are stored.
    if conversation.model:
        exported["model"] = conversation.model
    if conversation.instructions:
        exported["instructions"] = conversation.instructions
    return exported


def _message_json(message: Message) -> dict[str, object]:
    exported: dict[str, object] = {
        "seq": message.seq,
        "role": message.role.value,
        "content": message.content,
        "created_at": _time(message.created_at),
        "tool_calls": [
            {"id": call.id, "name": call.name, "arguments": call.arguments}
            for call in message.tool_calls
        ],
        "tool_call_id": message.tool_call_id,
        "tool_name": message.tool_name,
    }
    # What regenerates and edits add, only where they did (as stored).
    if message.model:
        exported["model"] = message.model
    if message.inactive:
        exported["inactive"] = True
    if message.version > 1:
        exported["version"] = message.version
        exported["alternative_of"] = message.alternative_of
    return exported


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(value: dict[str, object]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def _write(out: BinaryIO, data: bytes) -> int:
    out.write(data)
    return len(data)
