"""Redaction of secrets from log records: by field name and by value, tracebacks included."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"
_MIN_SECRET_CHARS = 4
_CLEAN_MAX_CHARS = 200  # texts up to this long are remembered once found clean ...
_CLEAN_MAX_TEXTS = 4096  # ... this many at most (then the memory starts again)

# Field names whose values are secrets whatever they hold (lower-cased, `-` read as `_`).
_SECRET_FIELD = re.compile(
    r"(?:^|_)(?:password|passwd|pwd|secret|api_?key|apikey|token|authorization|cookie|credentials?)$"
)

# Value patterns, applied in order. Each keeps enough context to read the line.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@ in any URI (mongodb://, redis://, https://...); the user stays readable.
    (re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*):[^@/\s]+@"), r"\1:***@"),
    # Authorization header values.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}"), r"\1 " + REDACTED),
    # Provider keys (OpenAI sk-/sk-proj-, Anthropic sk-ant-, ...) and this service's own keys.
    (re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{6,}"), REDACTED),
    (re.compile(r"\bacai_[A-Za-z0-9_\-]{16,}"), REDACTED),
    # name=value / name: value pairs whose name says secret (query strings, headers, reprs).
    (
        re.compile(
            r"(?i)\b([\w\-]*(?:password|passwd|secret|api[_\-]?key|token|x-api-key))"
            r"(['\"]?\s*[=:]\s*['\"]?)(?!\[REDACTED\])([^\s'\"&,;)}\]]+)"
        ),
        r"\1\2" + REDACTED,
    ),
)

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def is_secret_field(name: str) -> bool:
    """Returns whether a field called `name` holds a secret (`api_key`, `Authorization`...)."""
    return _SECRET_FIELD.search(name.lower().replace("-", "_")) is not None


class Redactor:
    """Removes secrets from text and structured values.

    Known secrets (`secrets`: the configured keys and passwords) are replaced wherever
    they appear; beyond those, patterns catch credentials in URIs, bearer tokens, provider
    keys, this service's keys and `password=...`-style pairs.
    """

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        known = {s for s in secrets if len(s) >= _MIN_SECRET_CHARS}
        self._secrets = sorted(known, key=len, reverse=True)
        # Short texts found to hold nothing to redact. Log records repeat the same methods,
        # paths, names and ids all the time, and each text costs every pattern's scan.
        # Only clean texts are kept, so no secret stays in memory longer for it.
        self._clean: set[str] = set()

    def text(self, value: str) -> str:
        """Returns `value` with every secret replaced."""
        if value in self._clean:
            return value
        original = value
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        if value == original and len(value) <= _CLEAN_MAX_CHARS:
            if len(self._clean) >= _CLEAN_MAX_TEXTS:
                self._clean.clear()
            self._clean.add(value)
        return value

    def value(self, value: Any, *, name: str = "") -> Any:
        """Returns `value` redacted: whole if `name` is a secret's, else strings within it."""
        if name and is_secret_field(name) and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v, name=str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(str(value))


class RedactingFilter(logging.Filter):
    """A handler filter that redacts each record in place before any formatter sees it.

    The message is rendered and redacted (args dropped), the traceback and stack are
    rendered to text and redacted, and every `extra=` field is redacted by name and value.
    Redacting twice changes nothing. Install it on every handler: a filter on a logger
    does not see the records of its children.
    """

    _traceback_formatter = logging.Formatter()

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self._redactor.text
        record.msg = redact(record.getMessage())
        record.args = None
        # exc_info stays for code that inspects it; formatters print the redacted exc_text
        # (logging.Formatter does; the JSON formatter of logs.py is made to).
        if record.exc_info:
            record.exc_text = self._traceback_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name in [n for n in record.__dict__ if n not in _RECORD_ATTRIBUTES]:
            record.__dict__[name] = self._redactor.value(record.__dict__[name], name=name)
        return True
