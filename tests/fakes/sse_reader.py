"""Reads Server-Sent Events from a streamed `requests` response, as a browser's EventSource
does: `id`, `event` and `data` fields, comments (`: ...`) kept apart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class SseEvent:
    """One SSE message; `data` is its JSON."""

    id: int
    event: str
    data: dict[str, Any]

    @property
    def body(self) -> dict[str, Any]:
        """The TurnEvent's oneof member, e.g. {"text": "..."} of a delta."""
        camel = "".join(
            part if i == 0 else part.capitalize() for i, part in enumerate(self.event.split("_"))
        )
        return dict(self.data[camel])


def sse_messages(response: requests.Response) -> Iterator[SseEvent | str]:
    """Yields each event, and each comment as its text, until the server closes the stream."""
    fields: dict[str, str] = {}
    for raw in response.iter_lines(decode_unicode=True, chunk_size=1):
        line = raw if isinstance(raw, str) else raw.decode()
        if line == "":
            if fields:
                yield SseEvent(int(fields["id"]), fields["event"], json.loads(fields["data"]))
            fields = {}
        elif line.startswith(":"):
            yield line[1:].strip()
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def sse_events(response: requests.Response) -> Iterator[SseEvent]:
    """Yields the events only (comments dropped)."""
    for message in sse_messages(response):
        if isinstance(message, SseEvent):
            yield message
