"""A local HTTP server speaking Anthropic's Messages API (`POST /v1/messages`), scripted per test.

Requests the real API would refuse get its 400 `invalid_request_error`; a request with
`"stream": true` gets the answer as the API's SSE events.
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.anthropic_wire import (
    JSON,
    ErrorReply,
    MessageReply,
    Scripted,
    ToolUse,
    message_json,
    request_problems,
    stream_error_event,
    stream_events,
)
from tests.fakes.openai_wire import RecordedRequest
from tests.fakes.sse_stream import Failure, Pacing, StreamRecord, write_stream

Responder = Callable[[JSON], "Scripted | str"]


def echo_responder(request: JSON) -> Scripted | str:
    users = [
        m
        for m in request.get("messages", [])
        if m.get("role") == "user" and isinstance(m.get("content"), str)
    ]
    return f"claude echo: {users[-1]['content'] if users else ''}"


class FakeAnthropicServer:
    """`/v1/messages` on 127.0.0.1: scripted replies first, then `responder`.

    A streamed answer's first delta comes after `first_token_delay_s`, the next ones
    `token_gap_s` apart; `streams` records what was written of each.
    """

    def __init__(
        self,
        *,
        responder: Responder = echo_responder,
        first_token_delay_s: float = 0.0,
        token_gap_s: float = 0.0,
    ) -> None:
        self.responder = responder
        self.pacing = Pacing(first_token_delay_s, token_gap_s)
        self._initial = (responder, self.pacing)
        self._lock = threading.Lock()
        self._script: collections.deque[Scripted] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._streams: list[StreamRecord] = []
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]

    @staticmethod
    def text(text: str) -> MessageReply:
        return MessageReply(text=text)

    @staticmethod
    def tool_use(name: str, arguments: dict[str, Any], *, text: str = "") -> MessageReply:
        return MessageReply(text=text, tool_uses=(ToolUse(name, arguments),))

    @staticmethod
    def error(
        status: int, message: str = "scripted error", *, retry_after: float | None = None
    ) -> ErrorReply:
        return ErrorReply(status, message, retry_after)

    @staticmethod
    def broken_stream(text: str, *, after_deltas: int, failure: Failure = "error") -> MessageReply:
        """Returns a text reply whose stream breaks after `after_deltas` deltas."""
        return MessageReply(text=text, fail_after_deltas=after_deltas, failure=failure)

    def script(self, *replies: Scripted | str) -> None:
        with self._lock:
            self._script.extend(MessageReply(text=r) if isinstance(r, str) else r for r in replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def streams(self) -> list[StreamRecord]:
        """Returns a record of every streamed answer so far, oldest first."""
        with self._lock:
            return list(self._streams)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._streams.clear()
        self.responder, self.pacing = self._initial

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeAnthropicServer:
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _sleep(self, seconds: float) -> bool:
        """Sleeps unless the server stops first; returns whether it is still running."""
        return not self._stopping.wait(seconds) if seconds > 0 else True

    def _next(self, body: JSON) -> Scripted:
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if scripted is None:
            answer = self.responder(body)
            scripted = MessageReply(text=answer) if isinstance(answer, str) else answer
        if isinstance(scripted, MessageReply):
            uses = tuple(
                u if u.id else replace(u, id=f"toolu_{next(self._ids):06d}")
                for u in scripted.tool_uses
            )
            scripted = replace(scripted, tool_uses=uses)
        return scripted


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        fake: FakeAnthropicServer = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        with fake._lock:
            fake._requests.append(
                RecordedRequest("POST", self.path, headers, body if isinstance(body, dict) else {})
            )
        if self.path != "/v1/messages":
            return self._error(ErrorReply(404, f"Unknown path {self.path}"))
        has_key = headers.get("x-api-key") or headers.get("authorization", "").startswith("Bearer ")
        if not has_key or "anthropic-version" not in headers:
            return self._error(ErrorReply(401, "an API key and anthropic-version are required"))
        problems = request_problems(body)
        if problems:
            return self._error(ErrorReply(400, "; ".join(problems)))
        scripted = fake._next(body)
        if isinstance(scripted, ErrorReply):
            return self._error(scripted)
        if scripted.fail_after_deltas is not None and not body.get("stream"):
            self.close_connection = True  # a broken answer: nothing usable comes back
            return None
        message = message_json(scripted, body, message_id=f"msg_fake{next(fake._ids):06d}")
        if not body.get("stream"):
            return self._json(200, message)
        events = stream_events(message)
        record = StreamRecord(total_deltas=sum(e.delta for e in events))
        with fake._lock:
            fake._streams.append(record)
        write_stream(
            self,
            events,
            headers={"request-id": "req_fake"},
            pacing=fake.pacing,
            sleep=fake._sleep,
            record=record,
            fail_after_deltas=scripted.fail_after_deltas,
            failure=scripted.failure,
            error_event=stream_error_event("overloaded_error", "Overloaded"),
        )

    def _error(self, error: ErrorReply) -> None:
        extra = {} if error.retry_after is None else {"retry-after": f"{error.retry_after:g}"}
        self._json(error.status, error.body(), extra)

    def _json(self, status: int, body: JSON, extra: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("request-id", "req_fake")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
