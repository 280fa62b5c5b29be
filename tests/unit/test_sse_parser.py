"""The SDK's SSE reader: framing as the HTML standard's EventSource reads it."""

from __future__ import annotations

import pytest

from chat_client.sse import SseMessage, SseParser

STREAM = (
    b"\xef\xbb\xbf: a comment first\n"
    b"id: 1\nevent: delta\ndata: one\n\n"
    b":\n\n"
    b"id: 2\r\nevent: delta\r\ndata: first line\r\ndata:second line\r\ndata\r\n\r\n"
    b"id: 3\revent: title\rdata:  two spaces\r\r"
    b"retry: 2500\nid\nevent: completed\ndata: {}\n\n"
)
EXPECTED = [
    SseMessage("1", "delta", "one"),
    SseMessage("2", "delta", "first line\nsecond line\n"),
    SseMessage("3", "title", " two spaces"),
    SseMessage("", "completed", "{}"),
]


def test_a_stream_in_one_piece():
    parser = SseParser()
    assert parser.feed(STREAM) == EXPECTED
    assert (parser.comments, parser.retry_ms) == (2, 2500)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_the_same_stream_in_pieces_of_any_size(size):
    parser = SseParser()
    messages = []
    for start in range(0, len(STREAM), size):
        messages += parser.feed(STREAM[start : start + size])
    assert messages == EXPECTED


def test_a_crlf_split_between_chunks_is_one_line_end():
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n") == []
    assert parser.feed(b"\r") == [SseMessage("", "message", "a")]
    assert parser.feed(b"\ndata: b\n\n") == [SseMessage("", "message", "b")]


def test_utf8_split_inside_a_character():
    encoded = "data: héllo 👋\n\n".encode()
    parser = SseParser()
    messages = [m for i in range(len(encoded)) for m in parser.feed(encoded[i : i + 1])]
    assert messages == [SseMessage("", "message", "héllo 👋")]


def test_events_without_data_are_not_dispatched_but_their_id_counts():
    parser = SseParser()
    assert parser.feed(b"id: 7\nevent: delta\n\n") == []
    assert parser.feed(b"data: x\n\n") == [SseMessage("7", "message", "x")]


def test_an_id_with_nul_is_ignored_and_unknown_fields_too():
    parser = SseParser()
    assert parser.feed(b"id: 4\n\nid: 5\x006\nfoo: bar\nretry: soon\ndata: x\n\n") == [
        SseMessage("4", "message", "x")
    ]
    assert parser.retry_ms is None


def test_other_unicode_line_breaks_stay_in_the_data():
    parser = SseParser()
    assert parser.feed("data: a\u2028b\x0bc\n\n".encode()) == [
        SseMessage("", "message", "a\u2028b\x0bc")
    ]


def test_an_unfinished_event_waits_for_its_blank_line():
    parser = SseParser()
    assert parser.feed(b"id: 1\ndata: x\n") == []
    assert parser.feed(b"\n") == [SseMessage("1", "message", "x")]
