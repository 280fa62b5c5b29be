"""The log audit itself: it finds a watched secret that the redaction patterns cannot know."""

from __future__ import annotations

import logging

from tests.log_audit import LogAudit


def _record(message: str) -> logging.LogRecord:
    return logging.makeLogRecord(
        {"name": "test.audit", "levelno": 20, "levelname": "INFO", "msg": message}
    )


def test_a_watched_secret_in_a_line_is_reported():
    audit = LogAudit()
    audit.watch("generated key", "opaque-0123456789")
    audit.emit(_record("the key is opaque-0123456789"))
    leaks = audit.leaks()
    assert len(leaks) == 1
    assert "generated key" in leaks[0]
    assert "opaque-0123456789" not in leaks[0]


def test_secrets_the_patterns_catch_are_not_leaks():
    audit = LogAudit()
    audit.emit(_record("connecting to mongodb://acai:canary-mongo-pw-4b7e1d90@db:27017"))
    audit.emit(_record("using sk-canary-openai-5f1c9e2b7a4d"))
    assert audit.leaks() == []
    assert audit.line_count == 2
