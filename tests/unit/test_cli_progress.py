"""The CLI's progress spinner and text rendering, without sockets."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime

from chat_cli import render
from chat_cli.progress import FRAMES, Progress
from chat_client import Conversation, Message, ToolCall


class _Recording(io.StringIO):
    """A stream that signals once it has received `frames` writes."""

    def __init__(self, frames: int) -> None:
        super().__init__()
        self.enough = threading.Event()
        self._frames = frames
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        if len(self.writes) >= self._frames:
            self.enough.set()
        return super().write(text)


def test_progress_animates_while_running_and_erases_itself():
    stream = _Recording(frames=3)
    with Progress(stream, enabled=True, interval_s=0.001):
        assert stream.enough.wait(10)
    frames = stream.writes[:-1]
    assert frames[0].endswith(f"{FRAMES[0]} thinking…")
    assert frames[1].endswith(f"{FRAMES[1]} thinking…")
    assert stream.writes[-1] == "\r\x1b[2K"


def test_progress_writes_nothing_when_disabled():
    stream = io.StringIO()
    with Progress(stream, enabled=False):
        pass
    assert stream.getvalue() == ""


def test_show_text_has_roles_times_and_tool_calls():
    at = datetime(2026, 11, 25, 5, 6, 7, tzinfo=UTC)
    conversation = Conversation(
        "a" * 24,
        "Weather",
        at,
        (
            Message("1", "USER", "Weather in Oslo?", at),
            Message("2", "ASSISTANT", "", at, (ToolCall("get_weather", '{"city":"Oslo"}'),)),
            Message("3", "ASSISTANT", "Cold.", at),
        ),
    )
    assert render.conversation_text(conversation) == (
        f"Conversation {'a' * 24}\nTitle:   Weather\nUpdated: 2026-11-25 05:06:07 UTC\n\n"
        "USER · 05:06:07\nWeather in Oslo?\n\n"
        'ASSISTANT · 05:06:07\n  ↳ tool get_weather({"city":"Oslo"})\n\n'
        "ASSISTANT · 05:06:07\nCold."
    )


def test_json_output_handles_lists_and_datetimes():
    at = datetime(2026, 11, 25, tzinfo=UTC)
    text = render.as_json((Conversation("a" * 24, "T", at),))
    assert '"timestamp": "2026-11-25T00:00:00+00:00"' in text
