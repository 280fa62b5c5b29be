"""`AsyncChatClient`: the asyncio Python SDK of the chat service (on `httpx2`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import TypeVar

import httpx2

from chat_client import results, wire
from chat_client.async_turn_stream import AsyncTurnStream
from chat_client.calls import Calls, sends_idempotency_keys
from chat_client.errors import ConnectionFailed, TimedOut, error_from_response
from chat_client.results import (
    Conversation,
    ConversationDetail,
    ConversationPage,
    Health,
    ModelInfo,
    Reply,
    SessionMetadata,
    StartedConversation,
    TurnCancellation,
    UsageReport,
)
from chat_client.retry import RetryPolicy, retrying
from chat_client.turn_progress import DEFAULT_REATTACH, TurnProgress
from chat_client.wire import Call, Encoding, StreamRequest

T = TypeVar("T")


class AsyncChatClient:
    """The asyncio twin of `ChatClient`: same options, methods and errors, awaited.

    `http_client` is the `httpx2.AsyncClient` to send through (the client closes only one it
    made itself). Use it as `async with AsyncChatClient(url) as client: ...` or call `aclose()`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        encoding: Encoding = "protobuf",
        prefix: str = "/twirp",
        http_client: httpx2.AsyncClient | None = None,
        reattach: RetryPolicy = DEFAULT_REATTACH,
    ) -> None:
        self._calls = Calls(base_url, prefix=prefix, encoding=encoding, api_key=api_key)
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._reattach = reattach
        self._owns_http = http_client is None
        self._http = http_client or httpx2.AsyncClient()

    @property
    def sends_idempotency_keys(self) -> bool:
        """Whether turns carry `idempotency_key` (the SDK's API version defines the field)."""
        return sends_idempotency_keys()

    async def start_conversation(
        self,
        message: str,
        *,
        session: SessionMetadata | None = None,
        idempotency_key: str | None = None,
        model: str = "",
        instructions: str = "",
    ) -> StartedConversation:
        """See `ChatClient.start_conversation`."""
        call = self._calls.start(message, session, idempotency_key, model, instructions)
        return await self._send(call)

    async def continue_conversation(
        self,
        conversation_id: str,
        message: str,
        *,
        session: SessionMetadata | None = None,
        idempotency_key: str | None = None,
    ) -> Reply:
        """See `ChatClient.continue_conversation`."""
        call = self._calls.continue_(conversation_id, message, session, idempotency_key)
        return await self._send(call)

    async def list_conversations(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> ConversationPage:
        """See `ChatClient.list_conversations`."""
        return await self._send(self._calls.list(page_size, page_token))

    async def iter_conversations(self, *, page_size: int = 0) -> AsyncIterator[Conversation]:
        """Yields every conversation, newest first, fetching pages as needed."""
        token = ""
        while True:
            page = await self.list_conversations(page_size=page_size, page_token=token)
            for conversation in page.conversations:
                yield conversation
            token = page.next_page_token
            if not token:
                return

    async def describe_conversation(
        self, conversation_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> ConversationDetail:
        """See `ChatClient.describe_conversation`."""
        return await self._send(self._calls.describe(conversation_id, page_size, page_token))

    async def get_conversation(self, conversation_id: str, *, page_size: int = 0) -> Conversation:
        """See `ChatClient.get_conversation`."""
        pages = [await self.describe_conversation(conversation_id, page_size=page_size)]
        while token := pages[-1].next_page_token:
            pages.append(
                await self.describe_conversation(
                    conversation_id, page_size=page_size, page_token=token
                )
            )
        return results.joined(pages)

    async def update_conversation(
        self,
        conversation_id: str,
        *,
        title: str = "",
        model: str | None = None,
        instructions: str | None = None,
    ) -> Conversation:
        """See `ChatClient.update_conversation`."""
        call = self._calls.update(conversation_id, title, model, instructions)
        return await self._send(call)

    async def regenerate_reply(
        self, conversation_id: str, *, idempotency_key: str | None = None
    ) -> Reply:
        """See `ChatClient.regenerate_reply`."""
        return await self._send(self._calls.regenerate(conversation_id, idempotency_key))

    async def edit_last_message(
        self, conversation_id: str, message: str, *, idempotency_key: str | None = None
    ) -> Reply:
        """See `ChatClient.edit_last_message`."""
        return await self._send(self._calls.edit(conversation_id, message, idempotency_key))

    async def list_models(self) -> tuple[ModelInfo, ...]:
        """See `ChatClient.list_models`."""
        return await self._send(self._calls.list_models())

    async def default_instructions(self) -> str:
        """See `ChatClient.default_instructions`."""
        return await self._send(self._calls.default_instructions())

    async def set_default_instructions(self, instructions: str) -> str:
        """See `ChatClient.set_default_instructions`."""
        return await self._send(self._calls.set_default_instructions(instructions))

    async def delete_conversation(self, conversation_id: str) -> bool:
        """See `ChatClient.delete_conversation`."""
        return await self._send(self._calls.delete(conversation_id))

    async def get_usage(self, *, start_date: str = "", end_date: str = "") -> UsageReport:
        """See `ChatClient.get_usage`."""
        return await self._send(self._calls.usage(start_date, end_date))

    async def stream_conversation(
        self,
        message: str,
        *,
        session: SessionMetadata | None = None,
        idempotency_key: str | None = None,
        model: str = "",
        instructions: str = "",
    ) -> AsyncTurnStream:
        """See `ChatClient.stream_conversation` (`async for event in await ...`)."""
        call = self._calls.start(message, session, idempotency_key, model, instructions)
        return await self._stream(self._calls.streamed(call))

    async def stream_continue(
        self,
        conversation_id: str,
        message: str,
        *,
        session: SessionMetadata | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncTurnStream:
        """See `ChatClient.stream_continue`."""
        call = self._calls.continue_(conversation_id, message, session, idempotency_key)
        return await self._stream(self._calls.streamed(call))

    async def stream_regenerate(
        self, conversation_id: str, *, idempotency_key: str | None = None
    ) -> AsyncTurnStream:
        """See `ChatClient.stream_regenerate`."""
        call = self._calls.regenerate(conversation_id, idempotency_key)
        return await self._stream(self._calls.streamed(call))

    async def stream_edit(
        self, conversation_id: str, message: str, *, idempotency_key: str | None = None
    ) -> AsyncTurnStream:
        """See `ChatClient.stream_edit`."""
        call = self._calls.edit(conversation_id, message, idempotency_key)
        return await self._stream(self._calls.streamed(call))

    async def stream_turn(self, turn_id: str, *, after: int = 0) -> AsyncTurnStream:
        """See `ChatClient.stream_turn`."""
        response = await self._open(self._calls.resume(turn_id, after), retried=True)
        progress = TurnProgress(turn_id, after=after, reattach=self._reattach)
        return AsyncTurnStream(response, progress, reopen=self._reopen)

    async def cancel_turn(
        self, turn_id: str = "", *, conversation_id: str = ""
    ) -> TurnCancellation:
        """See `ChatClient.cancel_turn`."""
        return await self._send(self._calls.cancel(turn_id, conversation_id))

    async def health(self) -> Health:
        """See `ChatClient.health`."""
        try:
            response = await self._http.get(
                self._calls.health_url, headers=self._calls.headers, timeout=self._timeout_s
            )
        except httpx2.HTTPError as exc:
            raise _transport_error(exc) from exc
        return wire.health(response.status_code, response.content)

    async def aclose(self) -> None:
        """Closes the HTTP client if this client made it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncChatClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _stream(self, request: StreamRequest) -> AsyncTurnStream:
        response = await self._open(request, retried=True)
        progress = TurnProgress(response.headers.get("X-Turn-Id", ""), reattach=self._reattach)
        return AsyncTurnStream(response, progress, reopen=self._reopen)

    async def _reopen(self, turn_id: str, after: int) -> httpx2.Response:
        return await self._open(self._calls.resume(turn_id, after), retried=False)

    async def _open(self, request: StreamRequest, *, retried: bool) -> httpx2.Response:
        """See `ChatClient._open`."""

        async def attempt() -> httpx2.Response:
            built = self._http.build_request(
                request.method,
                request.url,
                content=request.body or None,
                headers=dict(request.headers),
                timeout=self._timeout_s,
            )
            try:
                response = await self._http.send(built, stream=True)
            except httpx2.HTTPError as exc:
                raise _transport_error(exc) from exc
            if response.status_code != 200:
                try:
                    body = await response.aread()
                except httpx2.HTTPError as exc:
                    raise _transport_error(exc) from exc
                finally:
                    await response.aclose()
                retry_after = response.headers.get("Retry-After")
                raise error_from_response(response.status_code, body, retry_after=retry_after)
            return response

        if not retried:
            return await attempt()
        return await retrying(self._retry, resend_safe=request.resend_safe)(attempt)()

    async def _send(self, call: Call[T]) -> T:
        @retrying(self._retry, resend_safe=call.resend_safe)
        async def attempt() -> T:
            try:
                response = await self._http.post(
                    call.url, content=call.body, headers=dict(call.headers), timeout=self._timeout_s
                )
            except httpx2.HTTPError as exc:
                raise _transport_error(exc) from exc
            return call.result(response.status_code, response.content, response.headers)

        return await attempt()


def _transport_error(exc: httpx2.HTTPError) -> Exception:
    if isinstance(exc, httpx2.ConnectTimeout | httpx2.ConnectError):
        return ConnectionFailed(f"could not connect: {exc!r}", before_send=True)
    if isinstance(exc, httpx2.TimeoutException):
        return TimedOut(f"no answer in time: {exc!r}")
    return ConnectionFailed(f"connection failed: {exc!r}", before_send=False)
