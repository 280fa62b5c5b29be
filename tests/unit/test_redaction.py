"""Redaction: secrets leave log records by name and by value, tracebacks included."""

from __future__ import annotations

import io
import json
import logging

import pytest

from chat_service.observability.redaction import (
    REDACTED,
    RedactingFilter,
    Redactor,
    is_secret_field,
)


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("mongodb://acai:pw-canary-1@db.internal:27017/acai", "pw-canary-1"),
        ("mongodb+srv://u:pw-canary-2@a.example,b.example/x", "pw-canary-2"),
        ("redis://:pw-canary-3@cache:6379/0", "pw-canary-3"),
        ("rediss+cluster://app:pw-canary-4@c1:6379,c2:6379/0", "pw-canary-4"),
        ("Authorization: Bearer abcdefghij123", "abcdefghij123"),
        ("key sk-proj-AbCdEf123456 was refused", "sk-proj-AbCdEf123456"),
        ("anthropic sk-ant-api03-xyzxyzxyz", "sk-ant-api03-xyzxyzxyz"),
        ("got acai_Zx9_Zx9-Zx9Zx9Zx9Zx9Zx9 from client", "acai_Zx9_Zx9-Zx9Zx9Zx9Zx9Zx9"),
        ("https://api.example/q?api_key=weather123&q=paris", "weather123"),
        ("{'password': 'hunter22'}", "hunter22"),
        ("x-api-key: k3y-value", "k3y-value"),
    ],
)
def test_patterns_remove_secrets_from_text(raw, secret):
    redacted = Redactor().text(raw)
    assert secret not in redacted
    assert REDACTED in redacted or "***" in redacted


def test_uri_keeps_user_and_host_readable():
    assert Redactor().text("mongodb://acai:pw@db:27017") == "mongodb://acai:***@db:27017"


def test_known_secrets_are_removed_wherever_they_appear():
    redactor = Redactor(secrets=["plain-secret-value"])
    assert redactor.text("xx plain-secret-value yy") == f"xx {REDACTED} yy"


def test_ordinary_text_is_kept():
    text = "input_tokens=12 max_tokens=30 cache_key=title:abc model=gpt-4o-mini"
    assert Redactor().text(text) == text


def test_a_redactor_that_has_seen_many_texts_still_redacts_each_one():
    redactor = Redactor(secrets=["plain-secret-value"])
    texts = [f"POST /twirp/acai.chat.ChatService/Method{n % 5000}" for n in range(12_000)]
    assert [redactor.text(t) for t in texts] == texts
    for _ in range(3):  # a text once redacted is redacted every time
        assert redactor.text("api_key=weather123") == f"api_key={REDACTED}"
        assert redactor.text("plain-secret-value") == REDACTED
        assert redactor.text(texts[0]) == texts[0]


@pytest.mark.parametrize(
    "name", ["password", "api_key", "OPENAI_API_KEY", "Authorization", "x-api-key", "access_token"]
)
def test_secret_field_names(name):
    assert is_secret_field(name)


@pytest.mark.parametrize("name", ["input_tokens", "max_tokens", "cache_key", "key_id", "tokenizer"])
def test_ordinary_field_names(name):
    assert not is_secret_field(name)


def test_values_are_redacted_by_name_and_content_recursively():
    value = {
        "api_key": "anything",
        "nested": {"uri": "redis://:pw9@h:1"},
        "list": ["sk-abcdefghij"],
    }
    out = Redactor().value(value)
    assert out == {"api_key": REDACTED, "nested": {"uri": "redis://:***@h:1"}, "list": [REDACTED]}


def _emit(logger_name, redactor, log):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(logging.Formatter("%(message)s %(detail)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        log(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_filter_redacts_message_args_extras_and_traceback():
    def log(logger):
        try:
            raise RuntimeError("cannot reach mongodb://u:tb-secret@db:27017")
        except RuntimeError:
            logger.exception(
                "connecting with %s", "sk-argsecret123", extra={"detail": {"password": "x1y2"}}
            )

    out = _emit("test.redaction.filter", Redactor(), log)
    assert "sk-argsecret123" not in out
    assert "tb-secret" not in out
    assert "x1y2" not in out
    assert "RuntimeError" in out  # the traceback itself is kept


def test_json_handler_writes_redacted_lines():
    from chat_service.observability.logs import log_handler

    stream = io.StringIO()
    handler = log_handler(redactor=Redactor(secrets=["literal-secret-1"]), stream=stream)
    logger = logging.getLogger("test.redaction.json")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info("using literal-secret-1", extra={"api_key": "zzz", "model": "m"})
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == f"using {REDACTED}"
    assert line["api_key"] == REDACTED
    assert line["model"] == "m"
    assert "_redacted" not in line


def test_redacting_twice_changes_nothing():
    redactor = Redactor()
    once = redactor.text("password=abc mongodb://u:p@h Bearer abcdefgh1234 sk-abcdefghijk")
    assert redactor.text(once) == once


def test_exc_info_stays_for_code_that_inspects_it():
    record = logging.makeLogRecord({"msg": "x"})
    try:
        raise ValueError("token=abc123")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter(Redactor()).filter(record)
    assert record.exc_info[0] is ValueError
    assert record.exc_text is not None
    assert "abc123" not in record.exc_text
    assert "abc123" not in logging.Formatter().format(record)
