"""A local HTTP server speaking OpenAI's Chat Completions wire format, scripted per test.

Run standalone for benchmarks: `python -m tests.fakes.openai_server --port 8089 --latency-s 1`;
streamed answers paced like a model: `--first-token-delay-s 0.3 --token-gap-s 0.02 --reply-words 60`.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import sys
import threading
from collections.abc import Mapping
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.openai_wire import (
    JSON,
    ErrorReply,
    Hang,
    RawReply,
    RecordedRequest,
    Reply,
    Responder,
    Scripted,
    as_scripted,
    chat_request_problems,
    completion_json,
    echo_responder,
    error_reply,
    stream_error_event,
    stream_events,
    tool_call_reply,
    tool_calls_reply,
    words_responder,
)
from tests.fakes.sse_stream import Failure, Pacing, StreamRecord, write_stream

CREATED = 1_700_000_000  # a fixed timestamp keeps replies deterministic


class FakeOpenAIServer:
    """`/v1/chat/completions` on 127.0.0.1, answering scripted replies, then `responder`.

    Script with strings (text replies), `Reply(...)` or the builders `tool_call`,
    `tool_calls`, `error`, `hang`, `raw` and `broken_stream`. One thread per connection, so
    `latency_s` delays each request without blocking others; a large listen backlog lets
    hundreds of clients connect at once.

    A request with `"stream": true` gets the answer as SSE chunks, its first delta after
    `first_token_delay_s` and the next ones `token_gap_s` apart; `streams` records what
    was written of each.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        first_token_delay_s: float = 0.0,
        token_gap_s: float = 0.0,
        responder: Responder = echo_responder,
    ) -> None:
        self.latency_s = latency_s
        self.pacing = Pacing(first_token_delay_s, token_gap_s)
        self.responder = responder
        self._initial = (latency_s, self.pacing, responder)
        self._lock = threading.Lock()
        self._script: collections.deque[Scripted] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._streams: list[StreamRecord] = []
        self._connections = 0
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    tool_call = staticmethod(tool_call_reply)
    tool_calls = staticmethod(tool_calls_reply)
    error = staticmethod(error_reply)
    hang = staticmethod(Hang)
    raw = staticmethod(RawReply)

    @staticmethod
    def broken_stream(content: str, *, after_deltas: int, failure: Failure = "drop") -> Reply:
        """Returns a text reply whose stream breaks after `after_deltas` deltas."""
        return Reply(content=content, fail_after_deltas=after_deltas, failure=failure)

    def script(self, *replies: Scripted | str) -> None:
        """Queues replies for the next chat-completion requests, in order."""
        with self._lock:
            self._script.extend(as_scripted(r) for r in replies)

    @property
    def pending(self) -> int:
        """Returns how many scripted replies are still queued."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Returns a copy of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def streams(self) -> list[StreamRecord]:
        """Returns a record of every streamed answer so far, oldest first."""
        with self._lock:
            return list(self._streams)

    @property
    def connections(self) -> int:
        """Returns how many connections clients opened so far (a pooled client opens one)."""
        with self._lock:
            return self._connections

    def reset(self) -> None:
        """Forgets queued replies, recorded requests and streams; restores latency, pacing
        and responder."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._streams.clear()
        self.latency_s, self.pacing, self.responder = self._initial

    @property
    def url(self) -> str:
        """Returns the base URL clients use, "http://127.0.0.1:<port>/v1"."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        """Starts serving in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and releases hanging requests; idempotent."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next(self, body: JSON) -> Scripted:
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        return scripted if scripted is not None else as_scripted(self.responder(body))

    def _with_ids(self, reply: Reply) -> Reply:
        calls = tuple(
            c if c.call_id else replace(c, call_id=f"call_{next(self._ids):06d}")
            for c in reply.tool_calls
        )
        return replace(reply, tool_calls=calls)

    def _sleep(self, seconds: float) -> bool:
        """Sleeps unless the server stops first; returns whether it is still running."""
        return not self._stopping.wait(seconds) if seconds > 0 else True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignores clients that hang up first (timeouts, benchmarks); reports anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for
    # the client's delayed ACK (~40 ms), which would dwarf an "instant" provider.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stays quiet: tests and benchmarks read their own output."""

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections += 1

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/fake/stats":  # for benchmarks: provider calls served
            calls = sum(
                r.path.rstrip("/") == "/v1/chat/completions" for r in self.server.fake.requests
            )
            self._send_json(200, {"chat_completions": calls})
        elif self.path.rstrip("/") == "/v1/models":
            model = {"id": "fake-model", "object": "model", "created": CREATED, "owned_by": "fake"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(error_reply(404, f"Unknown path {self.path}"))

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake._record(RecordedRequest("POST", self.path, headers, body if body is not None else {}))
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._send_error(error_reply(404, f"Unknown path {self.path}"))
        if not isinstance(body, dict):
            return self._send_error(error_reply(400, "We could not parse the JSON body."))
        problems = chat_request_problems(body)
        if problems:
            return self._send_error(error_reply(400, problems[0], param="messages"))
        if not fake._sleep(fake.latency_s):
            return None
        scripted = fake._next(body)
        if isinstance(scripted, Hang):
            fake._sleep(scripted.seconds)
            self.close_connection = True
            return None
        if isinstance(scripted, ErrorReply):
            return self._send_error(scripted)
        if isinstance(scripted, RawReply):
            return self._send_json(scripted.status, scripted.body)
        if scripted.fail_after_deltas is not None and not body.get("stream"):
            self.close_connection = True  # a broken answer: nothing usable comes back
            return None
        number = next(fake._ids)
        completion = completion_json(
            fake._with_ids(scripted),
            body,
            completion_id=f"chatcmpl-fake{number:06d}",
            created=CREATED,
        )
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = stream_events(completion, include_usage=include_usage)
            record = StreamRecord(total_deltas=sum(e.delta for e in events))
            with fake._lock:
                fake._streams.append(record)
            return write_stream(
                self,
                events,
                headers={},
                pacing=fake.pacing,
                sleep=fake._sleep,
                record=record,
                fail_after_deltas=scripted.fail_after_deltas,
                failure=scripted.failure,
                error_event=stream_error_event("The server had an error while streaming."),
            )
        return self._send_json(200, completion)

    def _send_error(self, error: ErrorReply) -> None:
        extra = {} if error.retry_after is None else {"Retry-After": f"{error.retry_after:g}"}
        self._send_json(error.status, error.body(), extra)

    def _send_json(self, status: int, body: JSON, extra: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", extra or {})

    def _send(
        self, status: int, payload: bytes, content_type: str, extra: Mapping[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def main(argv: list[str] | None = None) -> None:
    """Serves until interrupted; prints the base URL first."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--first-token-delay-s", type=float, default=0.0)
    parser.add_argument("--token-gap-s", type=float, default=0.0)
    parser.add_argument(
        "--reply-words", type=int, default=0, help="answer N words instead of the echo"
    )
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(
        host=args.host,
        port=args.port,
        latency_s=args.latency_s,
        first_token_delay_s=args.first_token_delay_s,
        token_gap_s=args.token_gap_s,
        responder=words_responder(args.reply_words) if args.reply_words else echo_responder,
    )
    print(
        f"fake OpenAI server on {server.url} (latency {args.latency_s:g} s, first token "
        f"{args.first_token_delay_s:g} s, token gap {args.token_gap_s:g} s)",
        flush=True,
    )
    server.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
