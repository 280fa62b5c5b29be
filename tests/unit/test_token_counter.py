"""TiktokenCounter keeps counts it has made: the same answers, bounded memory."""

from __future__ import annotations

from chat_service.core import token_counter
from chat_service.core.token_counter import TiktokenCounter, offline_encoding
from tools.spec import ToolSpec


class CountingEncoding:
    """An encoding that counts the texts it is asked to encode."""

    def __init__(self) -> None:
        self.inner = offline_encoding()
        self.calls = 0

    def encode(self, text: str, **options: object) -> list[int]:
        self.calls += 1
        return self.inner.encode(text, **options)  # type: ignore[arg-type]


def test_a_short_text_is_encoded_once_and_a_long_one_every_time() -> None:
    encoding = CountingEncoding()
    counter = TiktokenCounter(encoding)  # type: ignore[arg-type]
    fresh = TiktokenCounter(offline_encoding())
    long_text = "word " * token_counter.CACHED_CHARS
    for _ in range(3):
        assert counter.text("hello there") == fresh.text("hello there")
        assert counter.text(long_text) == fresh.text(long_text)
    assert encoding.calls == 1 + 3


def test_the_text_cache_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(token_counter, "CACHED_TEXTS", 4)
    counter = TiktokenCounter(offline_encoding())
    for n in range(10):
        counter.text(f"text {n}")
    assert len(counter._texts) <= 4


def test_tool_lists_are_counted_once_each() -> None:
    encoding = CountingEncoding()
    counter = TiktokenCounter(encoding)  # type: ignore[arg-type]
    clock = ToolSpec("clock", "the time", {"type": "object"})
    weather = ToolSpec("weather", "the weather", {"type": "object"})
    first = counter.tools([clock, weather])
    assert counter.tools((clock, weather)) == first
    assert encoding.calls == 1
    other = counter.tools([weather])
    assert other < first
    assert encoding.calls == 2
    assert counter.tools([]) == 0
