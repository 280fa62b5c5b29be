"""Titles the offline model makes: the message's first words, markup dropped, in Title Case.

A model would write a title; without one the first words of the message have to do, so they are
made to look like one: Markdown and HTML marks go, code, URLs, paths and identifiers stay as
written, well-known acronyms written in lower case get their capitals, other words Title Case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from chat_service.core.prompts import DEFAULT_TITLE, clean_title

TITLE_WORDS = 6

_FENCE = re.compile(r"^\s*(```|~~~)")
_BLOCK_MARKERS = re.compile(r"^\s*(?:(?:#{1,6}|>|[-*+]|\d{1,3}[.)])(?:\s+|$))+")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_EMPHASIS = (
    re.compile(r"(?<![\w*])(\*\*|\*)(?=\S)(.+?)(?<=\S)\1(?![\w*])"),
    re.compile(r"(?<![\w_])(__|_)(?=\S)(.+?)(?<=\S)\1(?![\w_])"),
    re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"),
)
_CODE_SPAN = re.compile(r"`+([^`]*)`+")
# A word holding one of these is code, a URL, a path, a file name or an identifier.
_TECHNICAL = re.compile(r"://|[/\\@=_~$%{}<>|^]|\w\.\w|\w[(\[]|\d")
_COMPOUND = re.compile(r"([-/])")

_MINOR_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of"}
    | {"on", "or", "per", "the", "to", "via", "vs", "with"}
)
# Acronyms people type in lower case that are no English word in that spelling.
_ACRONYMS_TEXT = """
    AI API APIs AWS CEO CFO CLI CPU CPUs CSS CSV CTO DNS FAQ FAQs GCP GPS GPU GPUs HTML HTTP HTTPS
    IBM IDE IP JSON JWT LLM LLMs NASA NATO PDF PDFs PHP RAM RPC RSS SDK SDKs SMS SQL SSD SSH SSL
    TCP TLS UDP UI UK URL URLs USA USB UX VPN XML YAML
"""
_ACRONYMS = {word.lower(): word for word in _ACRONYMS_TEXT.split()}


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    verbatim: bool


def offline_title(message: str) -> str:
    """Returns a title made of the first TITLE_WORDS words of `message`'s first line of text.

    Fenced code blocks are skipped (their first line is used only when nothing else is left);
    headings, quote and list markers, emphasis, links (their text stays), HTML tags and code
    span backticks are dropped. Returns DEFAULT_TITLE when no word is left.
    """
    words = list(_words(_first_line(message)))[:TITLE_WORDS]
    if not words:
        return DEFAULT_TITLE
    last = len(words) - 1
    cased = [w.text if w.verbatim else _title_word(w.text, i, last) for i, w in enumerate(words)]
    return clean_title(" ".join(cased))


def title_case(text: str) -> str:
    """Returns `text` in Title Case; words that already hold a capital (NASA, iPhone) keep theirs.

    Short English function words stay lower case unless they come first or last; acronyms
    typed in lower case are upper-cased; code, URLs, paths and identifiers are left alone.
    """
    words = text.split()
    return " ".join(_title_word(word, i, len(words) - 1) for i, word in enumerate(words))


def _first_line(message: str) -> str:
    text = unicodedata.normalize("NFC", message)
    in_fence, first_code = False, ""
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            first_code = first_code or line.strip()
            continue
        plain = _plain(line)
        if any(c.isalnum() for c in plain):
            return plain
    return f"`{first_code}`" if first_code else ""


def _plain(line: str) -> str:
    """Returns `line` without block markers, links, tags and emphasis; code spans stay."""
    line = _BLOCK_MARKERS.sub("", line)
    line = _AUTOLINK.sub(r"\1", line)
    line = _LINK.sub(r"\1", line)
    line = _TAG.sub("", line)
    for emphasis in _EMPHASIS:
        line = emphasis.sub(lambda m: m.group(m.lastindex or 0), line)
    return line


def _words(line: str) -> Iterator[_Word]:
    position = 0
    for span in _CODE_SPAN.finditer(line):
        yield from (_Word(w, verbatim=False) for w in line[position : span.start()].split())
        yield from (_Word(w, verbatim=True) for w in span.group(1).split())
        position = span.end()
    yield from (_Word(w, verbatim=False) for w in line[position:].split())


def _title_word(word: str, index: int, last: int) -> str:
    if any(c.isupper() for c in word):
        return word
    if _TECHNICAL.search(word.replace("-", "").replace("/", "", 1)) or word.startswith("/"):
        return word
    parts = _COMPOUND.split(word)
    out = []
    for i, part in enumerate(parts):
        if part in ("-", "/"):
            out.append(part)
            continue
        core = part.strip(".,;:!?'’\"“”()")
        if core.lower() in _ACRONYMS:
            out.append(part.replace(core, _ACRONYMS[core.lower()], 1))
        elif (i > 0 or 0 < index < last) and core in _MINOR_WORDS:
            out.append(part)
        else:
            out.append(_capitalise_first_letter(part))
    return "".join(out)


def _capitalise_first_letter(word: str) -> str:
    # Only a word's leading letter: "(quoted)" -> "(Quoted)", but "1960s" stays.
    for i, c in enumerate(word):
        if c.isalnum():
            return word[:i] + c.upper() + word[i + 1 :] if c.isalpha() else word
    return word
