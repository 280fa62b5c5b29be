"""The stream endpoints (pure ASGI):

POST /stream/acai.chat.ChatService/{StartConversation,ContinueConversation,RegenerateReply,
                                    EditLastMessage}
    the unary request; a refusal before the turn starts is a Twirp error, otherwise
    200 text/event-stream with X-Turn-Id, the turn's events, ending with its terminal one.
GET /stream/turns/<turn_id>   (Last-Event-ID: N, or ?after=N)
    the turn's events after N, then the live ones, to the terminal event.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.to_thread
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from chat_service.core.errors import Unavailable
from chat_service.core.turn_events import TurnEvent, is_turn_id
from chat_service.edge.handlers import owner_of
from chat_service.edge.middleware.auth import KEY_ID_STATE_KEY
from chat_service.edge.middleware.twirp_reply import send_twirp_error
from chat_service.edge.streams.live import LiveTurn
from chat_service.edge.streams.open_streams import OpenStreams
from chat_service.edge.streams.sse import HEADERS, HEARTBEAT, sse_frame
from chat_service.edge.streams.stream_requests import bad_method, resume_after
from chat_service.edge.streams.turn_runs import StreamTurns
from chat_service.edge.twirp import (
    TwirpError,
    checked_content_type,
    decode_message,
    read_body,
    request_headers,
)
from chat_service.ports.turn_events import EventLogUnavailable, TurnEventLog, TurnRecords
from gen.acai.chat import chat_pb2 as pb

_T = TypeVar("_T")

SERVICE = "acai.chat.ChatService"
_REQUESTS = {
    "StartConversation": pb.StartConversationRequest,
    "ContinueConversation": pb.ContinueConversationRequest,
    "RegenerateReply": pb.RegenerateReplyRequest,
    "EditLastMessage": pb.EditLastMessageRequest,
}
NOT_FOUND = TwirpError("not_found", "turn not found")
RECORDS_POLL_S = 2.0  # how often a reader elsewhere asks the records whether its turn ended


class StreamEndpoints:
    """Serves the stream routes. Every open stream holds one of its owner's `open_streams`;
    an idle stream sends a heartbeat comment every `heartbeat_s`. Blocking reads of the log
    and the records run on threads, at most `read_threads` at once."""

    def __init__(
        self,
        turns: StreamTurns,
        *,
        log: TurnEventLog,
        records: TurnRecords,
        open_streams: OpenStreams,
        max_body_bytes: int,
        heartbeat_s: float = 15.0,
        wait_s: float = 1.0,
        read_threads: int = 64,
    ) -> None:
        self._turns = turns
        self._log = log
        self._records = records
        self._open = open_streams
        self._max_body_bytes = max_body_bytes
        self._heartbeat_s = heartbeat_s
        self._wait_s = min(wait_s, heartbeat_s)
        self._limiter = anyio.CapacityLimiter(read_threads)

    def routes(self) -> list[Route]:
        """Returns the two routes (any method: a wrong one is answered Twirp's bad_route)."""
        return [
            Route(f"/stream/{SERVICE}/{{method}}", endpoint=_Asgi(self.start_turn)),
            Route("/stream/turns/{turn_id}", endpoint=_Asgi(self.resume_turn)),
        ]

    async def start_turn(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["path_params"]["method"]
        try:
            if scope["method"] != "POST":
                raise bad_method(scope)
            request_type = _REQUESTS.get(method)
            if request_type is None:
                raise TwirpError(
                    "bad_route",
                    f'no handler for path "{path}"',
                    {"twirp_invalid_route": f"POST {path}"},
                )
            state = scope.setdefault("state", {})
            state["twirp_service"], state["twirp_method"] = SERVICE, method
            headers = request_headers(scope)
            content_type = checked_content_type(headers, path)
            body = await read_body(headers, receive, self._max_body_bytes)
            request = decode_message(body, content_type, request_type)
            owner = owner_of(state)
        except TwirpError as error:
            await send_twirp_error(scope, send, error)
            return
        # TwirpError, a frozen dataclass, must not cross the context manager's exit.
        async with self._open.hold(owner) as refusal:
            if refusal is not None:
                await send_twirp_error(scope, send, refusal)
                return
            key_id = str(scope.get("state", {}).get(KEY_ID_STATE_KEY) or "")
            live = self._turns.begin(owner, key_id, method, request)
            try:
                await live.started()
            except TwirpError as error:
                await send_twirp_error(scope, send, error)
                return
            await self._respond(scope, receive, send, live.turn_id, self._live(live, 0))

    async def resume_turn(self, scope: Scope, receive: Receive, send: Send) -> None:
        turn_id: str = scope["path_params"]["turn_id"]
        try:
            if scope["method"] != "GET":
                raise bad_method(scope, allowed="GET")
            after = resume_after(scope)
            owner = owner_of(scope.setdefault("state", {}))
            if not is_turn_id(turn_id):
                raise NOT_FOUND
        except TwirpError as error:
            await send_twirp_error(scope, send, error)
            return
        async with self._open.hold(owner) as refusal:
            if refusal is not None:
                await send_twirp_error(scope, send, refusal)
                return
            try:
                source = await self._source(owner, turn_id, after)
            except TwirpError as error:
                await send_twirp_error(scope, send, error)
                return
            await self._respond(scope, receive, send, turn_id, source)

    async def _source(self, owner: str, turn_id: str, after: int) -> AsyncIterator[bytes]:
        live = self._turns.live(turn_id)
        if live is not None:
            if live.owner != owner:
                raise NOT_FOUND
            return self._live(live, after)
        log_down = False
        try:
            runner = await self._thread(self._log.owner, turn_id)
        except EventLogUnavailable:
            runner, log_down = None, True
        if runner is not None:
            if runner != owner:
                raise NOT_FOUND
            return self._logged(turn_id, after)
        ended = await self._find_ended(turn_id)
        if ended is None or ended.owner != owner:
            if log_down and ended is None:
                raise TwirpError("unavailable", "the turn's events cannot be read now; retry")
            raise NOT_FOUND
        return _once(ended.terminal, after)

    async def _live(self, live: LiveTurn, after: int) -> AsyncIterator[bytes]:
        """The events of a turn running here; a reader that fell behind catches up from the
        log (if the log cannot help, the stream ends early: the client resumes later)."""
        seq = after
        while True:
            batch = live.after(seq)
            if batch is None:
                try:
                    batch = await self._thread(self._log.read_after, live.turn_id, seq)
                except EventLogUnavailable:
                    return
                if not batch:
                    return
            if batch:
                # Whatever came while the last send went out leaves in one write.
                yield b"".join(sse_frame(e) for e in batch)
                seq = batch[-1].seq
                if batch[-1].terminal:
                    return
                continue
            if live.ended and live.after(seq) == []:
                return  # resumed after the terminal event: nothing follows it
            if not await live.wait_beyond(seq, timeout_s=self._heartbeat_s):
                yield HEARTBEAT

    async def _logged(self, turn_id: str, after: int) -> AsyncIterator[bytes]:
        """The events of a turn running (or run) elsewhere, from the log; when the log stays
        silent, the records say whether the turn ended meanwhile."""
        seq = after
        since_heartbeat_s = 0.0
        idle_s = RECORDS_POLL_S  # the first silence asks the records at once
        while True:
            try:
                batch = await self._thread(self._log.wait, turn_id, seq, timeout_s=self._wait_s)
            except EventLogUnavailable:
                batch = []
                await anyio.sleep(self._wait_s)
            if batch:
                yield b"".join(sse_frame(e) for e in batch)
                seq = batch[-1].seq
                if batch[-1].terminal:
                    return
                idle_s = since_heartbeat_s = 0.0
                continue
            idle_s += self._wait_s
            since_heartbeat_s += self._wait_s
            if idle_s >= RECORDS_POLL_S:
                idle_s = 0.0
                ended = await self._find_ended(turn_id, fail_open=True)
                if ended is not None:
                    if ended.terminal.seq > seq:
                        yield sse_frame(ended.terminal)
                    return
            if since_heartbeat_s >= self._heartbeat_s:
                since_heartbeat_s = 0.0
                yield HEARTBEAT

    async def _find_ended(self, turn_id: str, *, fail_open: bool = False) -> Any:
        try:
            return await self._thread(self._records.find, turn_id)
        except Unavailable:
            if fail_open:
                return None
            raise TwirpError("unavailable", "the turn's record cannot be read now; retry") from None

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        turn_id: str,
        source: AsyncIterator[bytes],
    ) -> None:
        """Sends the stream until its end or the client's disconnection (the turn goes on)."""
        headers = [*HEADERS, (b"x-turn-id", turn_id.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async with anyio.create_task_group() as group:
            group.start_soon(_watch_disconnect, receive, group.cancel_scope)
            try:
                async for chunk in source:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            except OSError:
                pass  # the client went away mid-send
            finally:
                group.cancel_scope.cancel()

    async def _thread(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        call = functools.partial(function, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter, abandon_on_cancel=True)


class _Asgi:
    """A route endpoint that is an ASGI app (Starlette calls it with scope, receive, send)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Any]) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


async def _once(event: TurnEvent, after: int) -> AsyncIterator[bytes]:
    if event.seq > after:
        yield sse_frame(event)


async def _watch_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return
