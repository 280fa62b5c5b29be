"""A local HTTP server that answers each request with the next scripted action.

Actions: `Respond(status, body, headers)`, `Drop()` (close the connection without answering,
after reading the request) and `Hold()` (answer nothing until the server stops). Every request
is recorded (method, path, headers, body), so tests can count what a client sent.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Respond:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Drop:
    """Close the connection after reading the request, sending nothing."""


@dataclass(frozen=True)
class Hold:
    """Send nothing until the server stops."""


Action = Respond | Drop | Hold


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


class ScriptedHTTPServer:
    """Serves scripted actions on 127.0.0.1; `default` answers once the script runs out."""

    def __init__(self, *, default: Action) -> None:
        self.default = default
        self._script: collections.deque[Action] = collections.deque()
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *actions: Action) -> None:
        with self._lock:
            self._script.extend(actions)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    def next_action(self, recorded: Recorded) -> Action:
        with self._lock:
            self.requests.append(recorded)
            return self._script.popleft() if self._script else self.default

    def wait_stopping(self) -> None:
        self._stopping.wait()

    def __enter__(self) -> ScriptedHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded = Recorded(self.command, self.path, dict(self.headers), body)
        action = self.server.fake.next_action(recorded)
        if isinstance(action, Drop):
            self.close_connection = True
            return
        if isinstance(action, Hold):
            self.server.fake.wait_stopping()
            self.close_connection = True
            return
        self.send_response(action.status)
        for name, value in action.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(action.body)))
        self.end_headers()
        self.wfile.write(action.body)

    do_GET = _handle
    do_POST = _handle
