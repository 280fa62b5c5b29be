"""Opaque page tokens: url-safe base64 of a compact JSON cursor, shared by every repository."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from chat_service.core.models import is_conversation_id
from chat_service.core.timestamps import from_epoch_ms, to_epoch_ms
from chat_service.ports.repository import InvalidPageToken

_MAX_TOKEN_CHARS = 200


@dataclass(frozen=True, slots=True)
class ConversationCursor:
    """Position after the last conversation of a page (lists run newest first)."""

    created_at: datetime
    conversation_id: str


def encode_conversation_token(created_at: datetime, conversation_id: str) -> str:
    """Returns the token of the page that follows the conversation (created_at, id)."""
    return _encode({"t": to_epoch_ms(created_at), "i": conversation_id})


def decode_conversation_token(token: str) -> ConversationCursor:
    """Returns the cursor inside `token`; raises InvalidPageToken if it is not one we issued."""
    fields = _decode(token)
    epoch_ms, conversation_id = fields.get("t"), fields.get("i")
    if set(fields) != {"t", "i"} or not _is_int(epoch_ms) or not isinstance(conversation_id, str):
        raise InvalidPageToken()
    if not is_conversation_id(conversation_id):
        raise InvalidPageToken()
    try:
        created_at = from_epoch_ms(epoch_ms)
    except OverflowError:
        raise InvalidPageToken() from None
    if encode_conversation_token(created_at, conversation_id) != token:
        raise InvalidPageToken()  # same cursor, other spelling: not a token we issued
    return ConversationCursor(created_at, conversation_id)


def encode_message_token(next_seq: int) -> str:
    """Returns the token of the page of messages that starts at `next_seq`."""
    return _encode({"s": next_seq})


def decode_message_token(token: str) -> int:
    """Returns the first seq of the page `token` names; raises InvalidPageToken if not ours."""
    fields = _decode(token)
    next_seq = fields.get("s")
    if set(fields) != {"s"} or not _is_int(next_seq) or next_seq < 0:
        raise InvalidPageToken()
    if encode_message_token(next_seq) != token:
        raise InvalidPageToken()  # same cursor, other spelling: not a token we issued
    return next_seq


def _encode(fields: dict[str, int | str]) -> str:
    compact = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(compact).rstrip(b"=").decode("ascii")


def _decode(token: str) -> dict[str, Any]:
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise InvalidPageToken()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidPageToken() from None
    if not isinstance(fields, dict):
        raise InvalidPageToken()
    return fields


def _is_int(value: object) -> TypeGuard[int]:
    # JSON true/false decode to bool, which is an int subclass: not a cursor.
    return isinstance(value, int) and not isinstance(value, bool)
