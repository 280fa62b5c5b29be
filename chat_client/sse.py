"""`SseParser`: Server-Sent Events read incrementally from bytes, as the HTML standard's
EventSource reads them (no I/O here).

Lines end with CRLF, LF or CR (also split across chunks); a leading BOM is dropped; `data`
lines join with "\\n"; comments (lines starting with ":") are counted and dropped; a field
value loses one leading space; an `id` containing NUL is ignored; `retry` takes digits only.
An event is dispatched at a blank line, and only if it carried data.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_LINE_END = re.compile("\r\n|\r|\n")  # only these: not str.splitlines' other breaks


@dataclass(frozen=True, slots=True)
class SseMessage:
    """One dispatched event: its `id` (the last one seen on the stream, "" if none), its
    `event` type ("message" when the server named none) and its `data`."""

    id: str
    event: str
    data: str


class SseParser:
    """Feed it the stream's bytes as they arrive; `feed` returns the events they complete."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text after the last complete line
        self._started = False  # whether the BOM check is done
        self._after_cr = False  # the last chunk ended in CR: a leading LF belongs to it
        self._data: list[str] = []
        self._event = ""
        self.last_event_id = ""
        self.retry_ms: int | None = None
        self.comments = 0

    def feed(self, chunk: bytes) -> list[SseMessage]:
        """Returns the events completed by `chunk` (possibly none), in order."""
        text = self._decoder.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if text:
            if self._after_cr and text.startswith("\n"):
                text = text[1:]
            self._after_cr = text.endswith("\r")
        messages: list[SseMessage] = []
        *lines, self._pending = _LINE_END.split(self._pending + text)
        for line in lines:
            message = self._line(line)
            if message is not None:
                messages.append(message)
        return messages

    def _line(self, line: str) -> SseMessage | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> SseMessage | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return SseMessage(id=self.last_event_id, event=event or "message", data="\n".join(data))
