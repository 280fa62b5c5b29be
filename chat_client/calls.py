"""`Calls`: the I/O-free half of both clients, one `wire.Call` per ChatService method.

A client builds a call here, sends its `url`, `headers` and `body` with its own HTTP library,
and gives the answer to `Call.result`, under `retry.retrying`; the sync and async clients
differ only in that sending.
"""

from __future__ import annotations

from typing import Any, TypeVar

from chat_client import results, wire
from chat_client.results import (
    Conversation,
    ConversationDetail,
    ConversationPage,
    ModelInfo,
    Reply,
    SessionMetadata,
    StartedConversation,
    TurnCancellation,
    UsageReport,
)
from chat_client.wire import Call, Encoding, StreamRequest

USER_AGENT = "chat-client-python/0.1"

T = TypeVar("T")


class Calls:
    """Turns method arguments into `wire.Call`s with the client's base URL, prefix, encoding
    and key. `headers` are those of every request (the /health check's too)."""

    def __init__(
        self, base_url: str, *, prefix: str, encoding: Encoding, api_key: str | None
    ) -> None:
        if encoding not in ("json", "protobuf"):
            raise ValueError(f"encoding must be 'json' or 'protobuf', not {encoding!r}")
        self._base_url = base_url.rstrip("/")
        self._prefix = prefix.rstrip("/")
        self._encoding: Encoding = encoding
        self.headers = {"User-Agent": USER_AGENT, **wire.auth_headers(api_key)}
        self.health_url = f"{self._base_url}/health"

    def start(
        self,
        message: str,
        session: SessionMetadata | None,
        idempotency_key: str | None,
        model: str = "",
        instructions: str = "",
    ) -> Call[StartedConversation]:
        fields = {
            "message": message,
            "session_metadata": wire.session_message(session),
            "model": model,
            "instructions": instructions,
        }
        return self._turn("StartConversation", fields, idempotency_key, results.started_from)

    def regenerate(self, conversation_id: str, idempotency_key: str | None) -> Call[Reply]:
        fields = {"conversation_id": conversation_id}
        return self._turn("RegenerateReply", fields, idempotency_key, results.reply_from)

    def edit(self, conversation_id: str, message: str, idempotency_key: str | None) -> Call[Reply]:
        fields = {"conversation_id": conversation_id, "message": message}
        return self._turn("EditLastMessage", fields, idempotency_key, results.reply_from)

    def list_models(self) -> Call[tuple[ModelInfo, ...]]:
        return self._read("ListModels", {}, results.models_from)

    def default_instructions(self) -> Call[str]:
        return self._read("GetDefaultInstructions", {}, results.instructions_from)

    def set_default_instructions(self, instructions: str) -> Call[str]:
        fields = {"instructions": instructions}
        return self._read("SetDefaultInstructions", fields, results.instructions_from)

    def continue_(
        self,
        conversation_id: str,
        message: str,
        session: SessionMetadata | None,
        idempotency_key: str | None,
    ) -> Call[Reply]:
        fields = {
            "conversation_id": conversation_id,
            "message": message,
            "session_metadata": wire.session_message(session),
        }
        return self._turn("ContinueConversation", fields, idempotency_key, results.reply_from)

    def list(self, page_size: int, page_token: str) -> Call[ConversationPage]:
        fields = {"page_size": page_size, "page_token": page_token}
        return self._read("ListConversations", fields, results.page_from)

    def describe(
        self, conversation_id: str, page_size: int, page_token: str
    ) -> Call[ConversationDetail]:
        fields = {
            "conversation_id": conversation_id,
            "page_size": page_size,
            "page_token": page_token,
        }
        return self._read("DescribeConversation", fields, results.detail_from)

    def delete(self, conversation_id: str) -> Call[bool]:
        # Deleting again answers deleted=false: safe to resend.
        fields = {"conversation_id": conversation_id}
        return self._read("DeleteConversation", fields, results.deleted_from)

    def update(
        self,
        conversation_id: str,
        title: str,
        model: str | None = None,
        instructions: str | None = None,
    ) -> Call[Conversation]:
        fields: dict[str, Any] = {"conversation_id": conversation_id, "title": title}
        # Optional fields: left out, the setting stays; "" resets it.
        if model is not None:
            fields["model"] = model
        if instructions is not None:
            fields["instructions"] = instructions
        return self._read("UpdateConversation", fields, results.updated_from)

    def usage(self, start_date: str, end_date: str) -> Call[UsageReport]:
        fields = {"start_date": start_date, "end_date": end_date}
        return self._read("GetUsage", fields, results.usage_from)

    def cancel(self, turn_id: str, conversation_id: str) -> Call[TurnCancellation]:
        # Cancelling again answers cancelled=false: safe to resend.
        fields = {"turn_id": turn_id, "conversation_id": conversation_id}
        return self._read("CancelTurn", fields, results.cancellation_from)

    def streamed(self, call: Call[Any]) -> StreamRequest:
        """Returns the streamed form of a turn `call` (Start, Continue, Regenerate, Edit)."""
        return wire.stream_request(call, base_url=self._base_url)

    def resume(self, turn_id: str, after: int) -> StreamRequest:
        """Returns the request of a turn's events after `after`."""
        return wire.resume_request(turn_id, after, base_url=self._base_url, headers=self.headers)

    def _turn(
        self,
        method: str,
        fields: dict[str, Any],
        idempotency_key: str | None,
        parse: wire.Parse[T],
    ) -> Call[T]:
        message = wire.request(method, fields, if_defined={"idempotency_key": idempotency_key})
        keyed = idempotency_key is not None and wire.defines_field(method, "idempotency_key")
        return self._call(method, message, parse, resend_safe=keyed)

    def _read(self, method: str, fields: dict[str, Any], parse: wire.Parse[T]) -> Call[T]:
        return self._call(method, wire.request(method, fields), parse, resend_safe=True)

    def _call(
        self, method: str, message: Any, parse: wire.Parse[T], *, resend_safe: bool
    ) -> Call[T]:
        return wire.call(
            method,
            message,
            base_url=self._base_url,
            prefix=self._prefix,
            encoding=self._encoding,
            headers=self.headers,
            parse=parse,
            resend_safe=resend_safe,
        )


def sends_idempotency_keys() -> bool:
    """Whether turns carry `idempotency_key` (this SDK's API version defines the field)."""
    return wire.defines_field("ContinueConversation", "idempotency_key") and wire.defines_field(
        "StartConversation", "idempotency_key"
    )
