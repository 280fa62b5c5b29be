"""JSON-lines logging: one object per line with level, logger, message, request and trace ids.

`configure_logging` is the one place that sets logging up (create_app calls it); it
replaces only the handler it installed before, so it can run more than once. Before the app
exists, uvicorn's own lines (its supervisor's, with several workers) go through
UVICORN_LOG_CONFIG, which the launcher passes to uvicorn: the same JSON lines, redacted by
pattern (the configured secrets are not known there).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from opentelemetry import trace
from pythonjsonlogger.orjson import OrjsonFormatter

from chat_service.observability.redaction import RedactingFilter, Redactor
from chat_service.observability.request_context import request_id

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
UVICORN_LOG_CONFIG = Path(__file__).with_name("uvicorn_logging.json")

# uvicorn's own loggers: their records go to our handler instead of uvicorn's; its access
# log is switched off because the access-log middleware writes one structured line.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
_UVICORN_ACCESS = "uvicorn.access"
_OURS = "_chat_service_handler"
# Libraries that log every HTTP call at INFO (the LLM SDKs' clients): heard only at DEBUG.
_CHATTY = ("httpx", "httpx2", "httpcore", "openai", "anthropic")
# urllib3 logs each request's URL (query string, and so API keys, included) at DEBUG: never.
_URL_LOGGERS = ("urllib3.connectionpool",)


class ContextFilter(logging.Filter):
    """Adds `request_id`, `trace_id` and `span_id` of the current request to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current and not hasattr(record, "request_id"):
            record.request_id = current
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        return True


class _JsonFormatter(OrjsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        # Print the (redacted) exc_text the filter prepared, not a fresh traceback.
        exc_info = record.exc_info
        if record.exc_text:
            record.exc_info = None
        try:
            return super().format(record)
        finally:
            record.exc_info = exc_info


def json_formatter() -> logging.Formatter:
    """Returns the formatter of every log line: `{"timestamp", "level", "logger", "message", ...}`."""
    return _JsonFormatter(
        ["levelname", "name", "message"],
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "traceback"},
        timestamp=True,
        # color_message: uvicorn's copy of the message with terminal colour codes.
        reserved_attrs=[*logging.makeLogRecord({}).__dict__, "message", "color_message"],
    )


def pattern_redaction() -> logging.Filter:
    """Returns a filter redacting what the patterns recognise (no configured secrets)."""
    return RedactingFilter(Redactor())


def log_handler(*, redactor: Redactor, stream: IO[str] | None = None) -> logging.Handler:
    """Returns a handler writing redacted JSON lines with the request's ids to `stream`
    (default: standard error)."""
    handler: logging.Handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(json_formatter())
    return handler


def configure_logging(
    *, level: str, secrets: Iterable[str] = (), stream: IO[str] | None = None
) -> logging.Handler:
    """Routes every logger (uvicorn's included) to one JSON handler at `level`.

    `secrets` are redacted wherever they appear, on top of the pattern-based redaction,
    which is also added to any handler already on the root logger. Returns the handler.
    Raises ValueError for an unknown level.
    """
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    redactor = Redactor(secrets=secrets)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    for other in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in other.filters):
            other.addFilter(RedactingFilter(redactor))
    handler = log_handler(redactor=redactor, stream=stream)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    for name in _URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if level == "DEBUG" else logging.WARNING)
    access = logging.getLogger(_UVICORN_ACCESS)
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    return handler
