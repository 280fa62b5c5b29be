"""`ChatClient`: the synchronous Python SDK of the chat service (on `requests`)."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TypeVar

import requests
import urllib3.exceptions

from chat_client import results, wire
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
from chat_client.turn_stream import TurnStream
from chat_client.wire import Call, Encoding, StreamRequest

T = TypeVar("T")


class ChatClient:
    """Calls the chat service's Twirp API.

    `base_url` is the service's root (e.g. "http://127.0.0.1:8080"); `api_key`, when given, goes
    in `Authorization: Bearer <key>`. Each HTTP request waits at most `timeout_s`. Calls that
    fail with `unavailable` or a connection error are retried under `retry` (see
    `chat_client.retry` for which are safe); a streamed turn whose connection drops is
    resumed up to `reattach.retries` times in a row, with its backoff. `session` is the
    `requests.Session` to send through (the client closes only a session it made itself).

    Methods raise `chat_client.errors.ChatClientError` subclasses: a `TwirpError` per code
    (`NotFound`, `InvalidArgument`, ...), `ConnectionFailed` or `TimedOut`.
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
        session: requests.Session | None = None,
        reattach: RetryPolicy = DEFAULT_REATTACH,
    ) -> None:
        self._calls = Calls(base_url, prefix=prefix, encoding=encoding, api_key=api_key)
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._reattach = reattach
        self._owns_session = session is None
        self._session = session or requests.Session()

    @property
    def sends_idempotency_keys(self) -> bool:
        """Whether turns carry `idempotency_key` (the SDK's API version defines the field)."""
        return sends_idempotency_keys()

    def start_conversation(
        self,
        message: str,
        *,
        session: SessionMetadata | None = None,
        idempotency_key: str | None = None,
        model: str = "",
        instructions: str = "",
    ) -> StartedConversation:
        """Starts a conversation with its first message; returns its id, title and the reply.

        `session` tells the service where the message comes from. `idempotency_key` makes a
        resent turn return the first answer instead of making a second one; it is sent when
        `sends_idempotency_keys`, and ignored otherwise. `model` is an id of
        `list_models()` ("" for the server's default; another is InvalidArgument);
        `instructions` are standing instructions for every turn of the conversation.
        """
        call = self._calls.start(message, session, idempotency_key, model, instructions)
        return self._send(call)

    def continue_conversation(
        self,
        conversation_id: str,
        message: str,
        *,
        session: SessionMetadata | None = None,
        idempotency_key: str | None = None,
    ) -> Reply:
        """Adds `message` to the conversation and returns the reply (see `start_conversation`
        for the options). Raises `NotFound` for an unknown conversation."""
        call = self._calls.continue_(conversation_id, message, session, idempotency_key)
        return self._send(call)

    def list_conversations(self, *, page_size: int = 0, page_token: str = "") -> ConversationPage:
        """Returns one page of conversations, newest first (page_size 0: the server's default)."""
        return self._send(self._calls.list(page_size, page_token))

    def iter_conversations(self, *, page_size: int = 0) -> Iterator[Conversation]:
        """Yields every conversation, newest first, fetching pages as needed."""
        token = ""
        while True:
            page = self.list_conversations(page_size=page_size, page_token=token)
            yield from page.conversations
            token = page.next_page_token
            if not token:
                return

    def describe_conversation(
        self, conversation_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> ConversationDetail:
        """Returns the conversation with one page of its messages, oldest first."""
        return self._send(self._calls.describe(conversation_id, page_size, page_token))

    def get_conversation(self, conversation_id: str, *, page_size: int = 0) -> Conversation:
        """Returns the conversation with all its messages, fetching every page."""
        pages = [self.describe_conversation(conversation_id, page_size=page_size)]
        while token := pages[-1].next_page_token:
            pages.append(
                self.describe_conversation(conversation_id, page_size=page_size, page_token=token)
            )
        return results.joined(pages)

    def update_conversation(
        self,
        conversation_id: str,
        *,
        title: str = "",
        model: str | None = None,
        instructions: str | None = None,
    ) -> Conversation:
        """Changes the conversation's settings and returns it without messages: a title
        (never replaced by a generated one; "" keeps it), a model ("" for the default) and
        instructions ("" for none); None leaves a setting as it is. Raises
        InvalidArgument (also when nothing changes), NotFound."""
        call = self._calls.update(conversation_id, title, model, instructions)
        return self._send(call)

    def regenerate_reply(
        self, conversation_id: str, *, idempotency_key: str | None = None
    ) -> Reply:
        """Answers the conversation's last message again; the earlier reply stays stored as
        an inactive alternative. Raises NotFound, Aborted (another turn runs), and as
        `continue_conversation`."""
        return self._send(self._calls.regenerate(conversation_id, idempotency_key))

    def edit_last_message(
        self, conversation_id: str, message: str, *, idempotency_key: str | None = None
    ) -> Reply:
        """Replaces the conversation's last user message with `message` and returns the new
        reply; the earlier message and reply stay stored as inactive alternatives."""
        return self._send(self._calls.edit(conversation_id, message, idempotency_key))

    def list_models(self) -> tuple[ModelInfo, ...]:
        """Returns the models a conversation may choose, the server's default first."""
        return self._send(self._calls.list_models())

    def default_instructions(self) -> str:
        """Returns the caller's default instructions ("" for none)."""
        return self._send(self._calls.default_instructions())

    def set_default_instructions(self, instructions: str) -> str:
        """Sets the instructions of the caller's conversations that have none of their own
        ("" removes them); returns them as stored. Raises InvalidArgument (too long)."""
        return self._send(self._calls.set_default_instructions(instructions))

    def delete_conversation(self, conversation_id: str) -> bool:
        """Deletes the conversation with everything stored for it; returns False when it was
        deleted before. Raises InvalidArgument, NotFound (another owner's or no such id)."""
        return self._send(self._calls.delete(conversation_id))

    def get_usage(self, *, start_date: str = "", end_date: str = "") -> UsageReport:
        """Returns the caller's usage from `start_date` to `end_date` (YYYY-MM-DD, UTC,
        inclusive; defaults: the first of end_date's month, and today), by day and by model.
        Raises InvalidArgument (a bad date, a reversed or too long period)."""
        return self._send(self._calls.usage(start_date, end_date))

    def stream_conversation(
        self,
        message: str,
        *,
        session: SessionMetadata | None = None,
        idempotency_key: str | None = None,
        model: str = "",
        instructions: str = "",
    ) -> TurnStream:
        """Starts a conversation as `start_conversation` does, streaming its events: returns
        a `TurnStream` (iterate it; use it in a `with` block to hang up early) whose events
        are `started`, `title`, text deltas, tool calls and one terminal event
        (`TurnCompleted` carries what `start_conversation` returns).

        A refusal before the turn starts (invalid argument, rate limit, busy...) raises its
        `TwirpError` here, retried as `start_conversation` is; a failure after the start is a
        `TurnFailed` event. A dropped connection is resumed by the stream itself.
        """
        call = self._calls.start(message, session, idempotency_key, model, instructions)
        return self._stream(self._calls.streamed(call))

    def stream_continue(
        self,
        conversation_id: str,
        message: str,
        *,
        session: SessionMetadata | None = None,
        idempotency_key: str | None = None,
    ) -> TurnStream:
        """Continues a conversation as `continue_conversation` does, streaming its events
        (see `stream_conversation`). Raises `NotFound` for an unknown conversation."""
        call = self._calls.continue_(conversation_id, message, session, idempotency_key)
        return self._stream(self._calls.streamed(call))

    def stream_regenerate(
        self, conversation_id: str, *, idempotency_key: str | None = None
    ) -> TurnStream:
        """Answers the last message again as `regenerate_reply` does, streaming its events
        (see `stream_conversation`; a `TurnCompleted` with method "regenerate"). Raises
        `NotFound` for an unknown conversation."""
        call = self._calls.regenerate(conversation_id, idempotency_key)
        return self._stream(self._calls.streamed(call))

    def stream_edit(
        self, conversation_id: str, message: str, *, idempotency_key: str | None = None
    ) -> TurnStream:
        """Replaces the last user message as `edit_last_message` does, streaming its events
        (see `stream_conversation`; a `TurnCompleted` with method "edit"). Raises
        `NotFound` for an unknown conversation."""
        call = self._calls.edit(conversation_id, message, idempotency_key)
        return self._stream(self._calls.streamed(call))

    def stream_turn(self, turn_id: str, *, after: int = 0) -> TurnStream:
        """Attaches to a turn, running or recently ended: its events after `after` (0: all),
        then the live ones. Raises `NotFound` for an unknown turn (or another owner's)."""
        request = self._calls.resume(turn_id, after)
        return TurnStream(
            self._open(request, retried=True),
            TurnProgress(turn_id, after=after, reattach=self._reattach),
            reopen=self._reopen,
        )

    def cancel_turn(self, turn_id: str = "", *, conversation_id: str = "") -> TurnCancellation:
        """Stops a streamed turn that is still running, named by its id or by its
        conversation (the one running there). The text already sent is stored as the reply
        with finish_reason "cancelled"; its stream ends with a `TurnCancelled` event.
        Returns `cancelled=False` when the turn had already ended. Raises InvalidArgument
        (neither given), NotFound (no such turn, or none running on the conversation)."""
        return self._send(self._calls.cancel(turn_id, conversation_id))

    def health(self) -> Health:
        """Returns the service's /health report (also when it answers 503: unhealthy)."""
        try:
            response = self._session.get(
                self._calls.health_url, headers=self._calls.headers, timeout=self._timeout_s
            )
        except requests.RequestException as exc:
            raise _transport_error(exc) from exc
        return wire.health(response.status_code, response.content)

    def close(self) -> None:
        """Closes the HTTP session if the client made it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _stream(self, request: StreamRequest) -> TurnStream:
        response = self._open(request, retried=True)
        progress = TurnProgress(response.headers.get("X-Turn-Id", ""), reattach=self._reattach)
        return TurnStream(response, progress, reopen=self._reopen)

    def _reopen(self, turn_id: str, after: int) -> requests.Response:
        return self._open(self._calls.resume(turn_id, after), retried=False)

    def _open(self, request: StreamRequest, *, retried: bool) -> requests.Response:
        """Returns the open 200 stream of `request`, or raises its `TwirpError` (retried
        under the client's policy when `retried`)."""

        def attempt() -> requests.Response:
            try:
                response = self._session.request(
                    request.method,
                    request.url,
                    data=request.body or None,
                    headers=dict(request.headers),
                    timeout=self._timeout_s,
                    stream=True,
                )
            except requests.RequestException as exc:
                raise _transport_error(exc) from exc
            if response.status_code != 200:
                with response:
                    body = response.content
                retry_after = response.headers.get("Retry-After")
                raise error_from_response(response.status_code, body, retry_after=retry_after)
            return response

        if not retried:
            return attempt()
        return retrying(self._retry, resend_safe=request.resend_safe)(attempt)()

    def _send(self, call: Call[T]) -> T:
        @retrying(self._retry, resend_safe=call.resend_safe)
        def attempt() -> T:
            try:
                response = self._session.post(
                    call.url, data=call.body, headers=dict(call.headers), timeout=self._timeout_s
                )
            except requests.RequestException as exc:
                raise _transport_error(exc) from exc
            return call.result(response.status_code, response.content, response.headers)

        return attempt()


def _transport_error(exc: requests.RequestException) -> Exception:
    if isinstance(exc, requests.ConnectTimeout):
        return ConnectionFailed("could not connect in time", before_send=True)
    if isinstance(exc, requests.Timeout):
        return TimedOut("no answer in time")
    refused = _connect_error(exc)
    if refused is not None:
        # urllib3 words it "HTTPConnection(...): Failed to establish ...: [Errno 111] ...".
        return ConnectionFailed(
            f"could not connect: {str(refused).rsplit(': ', 1)[-1]}", before_send=True
        )
    return ConnectionFailed(f"connection failed: {exc}", before_send=False)


def _connect_error(exc: requests.RequestException) -> Exception | None:
    """Returns the error of a connection that was never made, or None."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return reason if isinstance(reason, urllib3.exceptions.NewConnectionError) else None
