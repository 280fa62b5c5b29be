"""BSON document shapes of `conversations` and `messages`, and their domain conversions.

conversations: {_id: ObjectId, owner, title, platform, user_id, chat_id,
                created_at, updated_at, message_count,
                summary: {content, first_seq, end_seq} | null (a copy of the latest summary;
                         absent on headers written before it existed, see turn_storage),
                title_source?: "owner" (a title the owner set; absent: generated),
                model?: "provider:model" (absent: the default), instructions?}
messages:      {_id: ObjectId, conversation_id: ObjectId, seq: int,
                role: "user"|"assistant"|"tool", content, created_at,
                tool_calls?: [{id, name, arguments}] (assistant), tool_call_id?, tool_name? (tool),
                usage?: {provider, model, input_tokens, output_tokens, cost_usd, latency_ms,
                         cached, calls: [{operation, provider, model, input_tokens,
                         output_tokens, cost_usd, latency_ms, cached}]} (assistant),
                finish_reason? ("cancelled": a streamed reply stopped early),
                model? (an answer: who wrote it), inactive?: true (an alternative replaced by a
                regenerate or an edit), version?: n > 1, alternative_of?: message id}
summaries:     {_id: ObjectId, conversation_id: ObjectId, first_seq, end_seq, content, created_at}
deleted_conversations: {_id: ObjectId (the conversation's), owner, deleted_at}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId

from chat_service.core.errors import ConversationNotFound
from chat_service.core.models import (
    Conversation,
    Message,
    NewMessage,
    Role,
    SessionInfo,
    Summary,
    ToolCall,
    is_conversation_id,
)
from chat_service.core.timestamps import to_stored
from chat_service.core.usage import ModelCall, UsageTotals

Document = dict[str, Any]

CONVERSATION_FIELDS = {
    name: True
    for name in (
        "owner",
        "title",
        "platform",
        "user_id",
        "chat_id",
        "created_at",
        "updated_at",
        "message_count",
        "model",
        "instructions",
    )
}


def conversation_object_id(conversation_id: str) -> ObjectId:
    """Returns the ObjectId behind a conversation id; ConversationNotFound if it is malformed."""
    if not is_conversation_id(conversation_id):
        raise ConversationNotFound(conversation_id)
    return ObjectId(conversation_id)


def conversation_document(
    conversation_id: ObjectId,
    *,
    owner: str,
    title: str,
    session: SessionInfo,
    message_count: int,
    now: datetime,
    model: str = "",
    instructions: str = "",
) -> Document:
    """Returns a new conversation's document; `now` must already be a stored timestamp."""
    document: Document = {
        "_id": conversation_id,
        "owner": owner,
        "title": title,
        "platform": session.platform,
        "user_id": session.user_id,
        "chat_id": session.chat_id,
        "created_at": now,
        "updated_at": now,
        "message_count": message_count,
    }
    # Absent, not empty, when unset: the shape of conversations stored before these existed.
    if model:
        document["model"] = model
    if instructions:
        document["instructions"] = instructions
    return document


def message_documents(
    conversation_id: ObjectId, first_seq: int, messages: list[NewMessage], now: datetime
) -> list[Document]:
    """Returns one document per message, numbered from `first_seq`."""
    return [
        _message_document(conversation_id, first_seq + offset, message, now)
        for offset, message in enumerate(messages)
    ]


def _message_document(
    conversation_id: ObjectId, seq: int, message: NewMessage, now: datetime
) -> Document:
    document: Document = {
        "_id": ObjectId(),
        "conversation_id": conversation_id,
        "seq": seq,
        "role": message.role.value,
        "content": message.content,
        "created_at": now,
    }
    # Only messages of a tool exchange carry these fields, so plain turns keep their shape.
    if message.tool_calls:
        document["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls
        ]
    if message.tool_call_id:
        document["tool_call_id"] = message.tool_call_id
    if message.tool_name:
        document["tool_name"] = message.tool_name
    if message.finish_reason:
        document["finish_reason"] = message.finish_reason
    if message.calls:
        document["usage"] = usage_document(UsageTotals.of(message.calls))
    if message.model:
        document["model"] = message.model
    if message.version > 1:
        document["version"] = message.version
        document["alternative_of"] = message.alternative_of
    return document


def usage_document(usage: UsageTotals) -> Document:
    """Returns the `usage` field of an assistant message: the totals and each call."""
    return {
        "provider": usage.provider,
        "model": usage.model,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": usage.cost_usd,
        "latency_ms": usage.latency_ms,
        "cached": usage.cached,
        "calls": [call.to_json() for call in usage.calls],
    }


def summary_document(conversation_id: ObjectId, summary: Summary, now: datetime) -> Document:
    """Returns the document of a conversation's summary."""
    return {
        "_id": ObjectId(),
        "conversation_id": conversation_id,
        "first_seq": summary.first_seq,
        "end_seq": summary.end_seq,
        "content": summary.content,
        "created_at": now,
    }


def to_summary(document: Mapping[str, Any]) -> Summary:
    """Returns the domain summary of a summary document."""
    return Summary(
        content=document["content"],
        first_seq=int(document["first_seq"]),
        end_seq=int(document["end_seq"]),
    )


def to_conversation(document: Mapping[str, Any]) -> Conversation:
    """Returns the domain header of a conversation document (projected or whole)."""
    return Conversation(
        id=str(document["_id"]),
        owner=document["owner"],
        title=document["title"],
        created_at=to_stored(document["created_at"]),
        updated_at=to_stored(document["updated_at"]),
        message_count=document["message_count"],
        session=SessionInfo(
            platform=document["platform"],
            user_id=document["user_id"],
            chat_id=document["chat_id"],
        ),
        model=document.get("model", ""),
        instructions=document.get("instructions", ""),
    )


def to_message(document: Mapping[str, Any]) -> Message:
    """Returns the domain message of a message document."""
    return Message(
        id=str(document["_id"]),
        conversation_id=str(document["conversation_id"]),
        seq=document["seq"],
        role=Role(document["role"]),
        content=document["content"],
        created_at=to_stored(document["created_at"]),
        tool_calls=tuple(
            ToolCall(str(c["id"]), str(c["name"]), str(c["arguments"]))
            for c in document.get("tool_calls", ())
        ),
        tool_call_id=document.get("tool_call_id", ""),
        tool_name=document.get("tool_name", ""),
        finish_reason=document.get("finish_reason", ""),
        calls=tuple(ModelCall.from_json(c) for c in document.get("usage", {}).get("calls", ())),
        model=document.get("model", ""),
        inactive=bool(document.get("inactive", False)),
        version=int(document.get("version", 1)),
        alternative_of=document.get("alternative_of", ""),
    )
