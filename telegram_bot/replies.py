"""Splitting replies to fit Telegram's message limit, on paragraph, line or word boundaries."""

from __future__ import annotations

TELEGRAM_LIMIT = 4096  # characters per message, counted in UTF-16 code units
_SEPARATORS = ("\n\n", "\n", " ")


def utf16_length(text: str) -> int:
    """Returns the length of `text` as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Returns `text` in pieces of at most `limit` UTF-16 units, cut at the last paragraph
    break, else line break, else space, in the second half of each piece; a piece with none
    of them (a very long word) is cut at the limit. The separator at a cut is dropped and
    blank pieces are left out; nothing else of `text` is lost."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    pieces: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        window = _prefix_within(rest, limit)
        cut, skip = _cut(window)
        pieces.append(rest[:cut])
        rest = rest[cut + skip :]
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()]


def _prefix_within(text: str, limit: int) -> str:
    """Returns the longest prefix of `text` within `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def _cut(window: str) -> tuple[int, int]:
    """Returns where to cut `window` and how many separator characters to drop there."""
    for separator in _SEPARATORS:
        position = window.rfind(separator)
        if position >= len(window) // 2:
            return position, len(separator)
    for separator in _SEPARATORS:
        position = window.rfind(separator)
        if position > 0:
            return position, len(separator)
    return len(window), 0
