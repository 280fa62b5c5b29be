"""A loopback HTTP server that streams scripted turns as the service's stream endpoints do,
for testing the SDK's SSE reading and reattachment without the service.

`POST /stream/acai.chat.ChatService/<Method>` streams the next scripted turn (or answers its
scripted refusal); `GET /stream/turns/<turn_id>` (Last-Event-ID or ?after=N) streams a turn's
events after N. A turn can drop its connection after given events (once each), repeat the
event before the resume point (a server sending one event twice), answer resumes with
scripted errors first, and pad the stream with comments; the body is chunked, written in
small pieces, lines ending in CRLF when asked.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.protobuf import json_format

from gen.acai.chat import chat_pb2 as pb

TURN_ID = "a" * 32


@dataclass
class ScriptedTurn:
    """One turn's events; `drop_after` holds seqs after which a connection breaks (once
    each); `resume_errors` are (status, Twirp code) answered to the next resumes."""

    events: list[pb.TurnEvent]
    drop_after: list[int] = field(default_factory=list)
    resume_errors: list[tuple[int, str]] = field(default_factory=list)
    repeat_on_resume: bool = False
    crlf: bool = False
    multiline: bool = False
    comments: bool = False


def turn_events(turn_id: str = TURN_ID, *, text: str = "Hello there, friend") -> list[pb.TurnEvent]:
    """Returns a completed Start turn: started, title, one delta per word, completed."""
    pieces = [w if i == 0 else f" {w}" for i, w in enumerate(text.split(" "))]
    bodies: list[dict[str, Any]] = [
        {"started": {"conversation_id": "c" * 24, "new_conversation": True}},
        {"title": {"title": "Greetings"}},
        *({"delta": {"text": piece}} for piece in pieces),
        {
            "completed": {
                "start": {
                    "conversation_id": "c" * 24,
                    "title": "Greetings",
                    "reply": text,
                    "turn_id": turn_id,
                }
            }
        },
    ]
    return [pb.TurnEvent(seq=n, turn_id=turn_id, **body) for n, body in enumerate(bodies, 1)]


def sse(event: pb.TurnEvent, *, crlf: bool = False, multiline: bool = False) -> bytes:
    """Returns the event framed as the service frames it; `multiline` spreads the JSON over
    several `data` lines (the reader joins them with newlines, which JSON allows)."""
    as_dict = json_format.MessageToDict(event)
    kind = event.WhichOneof("event")
    if multiline:
        data = json.dumps(as_dict, indent=1).replace("\n", "\ndata:")
    else:
        data = json.dumps(as_dict, separators=(",", ":"))
    text = f"id: {event.seq}\nevent: {kind}\ndata: {data}\n\n"
    return (text.replace("\n", "\r\n") if crlf else text).encode()


class FakeSseSource:
    """The stream endpoints on 127.0.0.1; `script` queues turns for the next POSTs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: collections.deque[ScriptedTurn | tuple[int, str]] = collections.deque()
        self._turns: dict[str, ScriptedTurn] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeSseSource:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, turn: ScriptedTurn | tuple[int, str]) -> None:
        """Queues a turn (or a refusal: HTTP status and Twirp code) for the next POST."""
        with self._lock:
            self._queue.append(turn)
            if isinstance(turn, ScriptedTurn):
                self._turns[turn.events[0].turn_id] = turn

    def next_post(self) -> ScriptedTurn | tuple[int, str]:
        with self._lock:
            return self._queue.popleft()

    def turn(self, turn_id: str) -> ScriptedTurn | None:
        with self._lock:
            return self._turns.get(turn_id)

    def record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((method, path, headers))


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-stream is what some tests do on purpose.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake: FakeSseSource = self.server.fake
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.record("POST", self.path, dict(self.headers))
        scripted = fake.next_post()
        if isinstance(scripted, tuple):
            self._twirp_error(*scripted)
            return
        self._stream(scripted, after=0)

    def do_GET(self) -> None:
        fake: FakeSseSource = self.server.fake
        fake.record("GET", self.path, dict(self.headers))
        url = urlsplit(self.path)
        turn = fake.turn(url.path.rsplit("/", 1)[-1])
        if turn is None:
            self._twirp_error(404, "not_found")
            return
        if turn.resume_errors:
            self._twirp_error(*turn.resume_errors.pop(0))
            return
        raw = self.headers.get("Last-Event-ID") or (parse_qs(url.query).get("after") or ["0"])[0]
        after = int(raw)
        self._stream(turn, after=max(0, after - 1) if turn.repeat_on_resume else after)

    def _twirp_error(self, status: int, code: str) -> None:
        body = json.dumps({"code": code, "msg": f"scripted {code}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, turn: ScriptedTurn, *, after: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Turn-Id", turn.events[0].turn_id)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if turn.comments:
                self._chunk(b": keep-alive\n\n")
            for event in turn.events:
                if event.seq <= after:
                    continue
                frame = sse(event, crlf=turn.crlf, multiline=turn.multiline)
                for start in range(0, len(frame), 7):  # small writes: lines cut anywhere
                    self._chunk(frame[start : start + 7])
                if turn.comments:
                    self._chunk(b":\n\n")
                if event.seq in turn.drop_after:
                    turn.drop_after.remove(event.seq)
                    self.close_connection = True
                    return  # no last chunk: the client sees the body break
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
