"""`Calls`: builds the HTTP request of each ChatService method for both clients."""

from __future__ import annotations

from typing import Any

from chat_client import wire
from chat_client.results import SessionMetadata
from chat_client.wire import Call, Encoding

USER_AGENT = "chat-client-python/0.1"


class Calls:
    """Turns method arguments into `wire.Call`s with the client's prefix, encoding and key."""

    def __init__(self, *, prefix: str, encoding: Encoding, api_key: str | None) -> None:
        if encoding not in ("json", "protobuf"):
            raise ValueError(f"encoding must be 'json' or 'protobuf', not {encoding!r}")
        self._prefix = prefix.rstrip("/")
        self._encoding: Encoding = encoding
        self.headers = {"User-Agent": USER_AGENT, **wire.auth_headers(api_key)}

    def start(
        self, message: str, session: SessionMetadata | None, idempotency_key: str | None
    ) -> Call:
        fields = {"message": message, "session_metadata": wire.session_message(session)}
        return self._turn("StartConversation", fields, idempotency_key)

    def continue_(
        self,
        conversation_id: str,
        message: str,
        session: SessionMetadata | None,
        idempotency_key: str | None,
    ) -> Call:
        fields = {
            "conversation_id": conversation_id,
            "message": message,
            "session_metadata": wire.session_message(session),
        }
        return self._turn("ContinueConversation", fields, idempotency_key)

    def list(self, page_size: int, page_token: str) -> Call:
        return self._read("ListConversations", {"page_size": page_size, "page_token": page_token})

    def describe(self, conversation_id: str, page_size: int, page_token: str) -> Call:
        fields = {
            "conversation_id": conversation_id,
            "page_size": page_size,
            "page_token": page_token,
        }
        return self._read("DescribeConversation", fields)

    def _turn(self, method: str, fields: dict[str, Any], idempotency_key: str | None) -> Call:
        message = wire.request(method, fields, if_defined={"idempotency_key": idempotency_key})
        keyed = idempotency_key is not None and wire.defines_field(method, "idempotency_key")
        return self._call(method, message, resend_safe=keyed)

    def _read(self, method: str, fields: dict[str, Any]) -> Call:
        return self._call(method, wire.request(method, fields), resend_safe=True)

    def _call(self, method: str, message: Any, *, resend_safe: bool) -> Call:
        return wire.call(
            method,
            message,
            prefix=self._prefix,
            encoding=self._encoding,
            headers=self.headers,
            resend_safe=resend_safe,
        )


def sends_idempotency_keys() -> bool:
    """Whether turns carry `idempotency_key` (this SDK's API version defines the field)."""
    return wire.defines_field("ContinueConversation", "idempotency_key") and wire.defines_field(
        "StartConversation", "idempotency_key"
    )
