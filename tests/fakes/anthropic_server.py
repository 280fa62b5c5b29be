"""A local HTTP server speaking Anthropic's Messages API (`POST /v1/messages`), scripted per test.

Requests the real API would refuse get its 400 `invalid_request_error`.
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
)
from tests.fakes.openai_wire import RecordedRequest

Responder = Callable[[JSON], "Scripted | str"]


def echo_responder(request: JSON) -> Scripted | str:
    users = [
        m
        for m in request.get("messages", [])
        if m.get("role") == "user" and isinstance(m.get("content"), str)
    ]
    return f"claude echo: {users[-1]['content'] if users else ''}"


class FakeAnthropicServer:
    """`/v1/messages` on 127.0.0.1: scripted replies first, then `responder`."""

    def __init__(self, *, responder: Responder = echo_responder) -> None:
        self.responder = responder
        self._initial = responder
        self._lock = threading.Lock()
        self._script: collections.deque[Scripted] = collections.deque()
        self._requests: list[RecordedRequest] = []
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

    def script(self, *replies: Scripted | str) -> None:
        with self._lock:
            self._script.extend(MessageReply(text=r) if isinstance(r, str) else r for r in replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._requests.clear()
        self.responder = self._initial

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
        self._httpd.shutdown()
        self._httpd.server_close()

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
        self._json(200, message_json(scripted, body, message_id=f"msg_fake{next(fake._ids):06d}"))

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
