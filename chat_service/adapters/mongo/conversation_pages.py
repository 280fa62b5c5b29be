"""Pages of an owner's conversations, newest first, by keyset on (created_at, _id)."""

from __future__ import annotations

import pymongo
from bson import ObjectId
from pymongo.collection import Collection

from chat_service.adapters.mongo.documents import CONVERSATION_FIELDS, Document, to_conversation
from chat_service.adapters.mongo.page_tokens import (
    decode_conversation_token,
    encode_conversation_token,
)
from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.models import ConversationPage


def conversation_page(
    conversations: Collection[Document], *, owner: str, page_size: int, page_token: str
) -> ConversationPage:
    """Returns up to `page_size` (>= 1) of the owner's conversations after `page_token`.

    Raises InvalidPageToken for a token not issued here.
    """
    wanted = page_size + 1
    documents: list[Document] = []
    older: Document = {"owner": owner}
    if page_token:
        cursor = decode_conversation_token(page_token)
        # Two range queries instead of one $or: both walk the (owner, created_at, _id) index
        # on any server, where an $or may not (secantusd falls back to a collection scan).
        same_time = {
            "owner": owner,
            "created_at": cursor.created_at,
            "_id": {"$lt": ObjectId(cursor.conversation_id)},
        }
        documents = _find(conversations, same_time, wanted)
        older["created_at"] = {"$lt": cursor.created_at}
    if len(documents) < wanted:
        documents += _find(conversations, older, wanted - len(documents))
    found = tuple(to_conversation(document) for document in documents[:page_size])
    if len(documents) <= page_size:
        return ConversationPage(found)
    last = found[-1]
    return ConversationPage(found, encode_conversation_token(last.created_at, last.id))


def check_page_size(page_size: int) -> None:
    """Raises ValueError for a page size below 1 (the use cases bound it first)."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")


def _find(conversations: Collection[Document], query: Document, limit: int) -> list[Document]:
    order = [("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)]
    with storage_errors():
        cursor = conversations.find(query, CONVERSATION_FIELDS)
        return list(cursor.sort(order).limit(limit))
