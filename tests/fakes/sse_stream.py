"""Writing a streamed reply of a fake provider: Server-Sent Events over chunked HTTP/1.1.

Both fake provider servers use it. Events are paced like a model writing (a delay before the
first delta, a gap between deltas), a reply can be scripted to break after N deltas (the
connection dropped, or the provider's own error event), and each stream is recorded so a test
can see whether the client hung up before the end.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Literal

_WORDS = re.compile(r"\s*\S+|\s+")  # each word with the spaces before it

Failure = Literal["drop", "error"]
"""How a broken stream ends: "drop" closes the connection mid-body; "error" sends the
provider's error event (then ends the body as the provider does)."""


@dataclass(frozen=True)
class SseEvent:
    """One event as it goes on the wire (`data: ...\\n\\n`, with `event:` where the provider
    names events); `delta` marks an event carrying a piece of the answer (text or tool-call
    arguments): those are paced and counted."""

    wire: str
    delta: bool = False


@dataclass(frozen=True)
class Pacing:
    """How fast the fake model "writes": before the first delta, and between deltas."""

    first_token_delay_s: float = 0.0
    token_gap_s: float = 0.0


@dataclass
class StreamRecord:
    """What a fake server wrote of one streamed reply; `finished` is set once it stopped."""

    total_deltas: int
    sent_deltas: int = 0
    client_gone: bool = False
    finished: threading.Event = field(default_factory=threading.Event)


def word_pieces(text: str) -> list[str]:
    """Returns `text` in word-sized pieces that concatenate back to it ("a b" -> "a", " b")."""
    return _WORDS.findall(text)


def fragments(text: str, *, size: int = 7) -> list[str]:
    """Returns `text` cut into pieces of `size` characters (tool-call arguments as streamed)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def write_stream(
    handler: BaseHTTPRequestHandler,
    events: Sequence[SseEvent],
    *,
    headers: Mapping[str, str],
    pacing: Pacing,
    sleep: Callable[[float], bool],
    record: StreamRecord,
    fail_after_deltas: int | None = None,
    failure: Failure = "drop",
    error_event: str = "",
) -> None:
    """Answers 200 with `events` as a chunked `text/event-stream`, paced by `pacing`.

    With `fail_after_deltas`, the stream breaks once that many deltas were sent (before
    the next delta, or before the events that end the answer): by `error_event` then the end of the body ("error"), or by closing the connection
    without ending the body ("drop"). `sleep(seconds)` returns False when the server stops.
    A client that hangs up ends the stream and is marked `client_gone` on `record`.
    """
    try:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        for event in events:
            # The break comes before the delta after the Nth, or before what follows the last.
            if (event.delta or record.sent_deltas) and record.sent_deltas == fail_after_deltas:
                if failure == "error":
                    _chunk(handler, error_event.encode())
                    handler.wfile.write(b"0\r\n\r\n")
                handler.close_connection = True
                return
            if event.delta:
                wait_s = pacing.token_gap_s if record.sent_deltas else pacing.first_token_delay_s
                if not sleep(wait_s):
                    handler.close_connection = True
                    return
            _chunk(handler, event.wire.encode())
            if event.delta:
                record.sent_deltas += 1
        handler.wfile.write(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        record.client_gone = True
        handler.close_connection = True
    finally:
        record.finished.set()


def _chunk(handler: BaseHTTPRequestHandler, payload: bytes) -> None:
    # One chunk per event, written at once: the client reads each event as it is sent.
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
