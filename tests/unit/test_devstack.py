"""The development stack's pure parts: the `.env` reader and URL redaction."""

from __future__ import annotations

import pytest

from devstack.envfile import read_env_file
from devstack.stack_record import redact


def test_env_file_pairs_comments_quotes_and_export(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "# a comment\n\n"
        "PORT=9000\n"
        "export HOST = 0.0.0.0\n"
        "OPENAI_API_KEY='sk # not a comment'\n"
        'TITLE="two words"\n'
        "LOG_LEVEL=DEBUG # a trailing comment\n"
        "EMPTY=\n"
    )
    assert read_env_file(path) == {
        "PORT": "9000",
        "HOST": "0.0.0.0",
        "OPENAI_API_KEY": "sk # not a comment",
        "TITLE": "two words",
        "LOG_LEVEL": "DEBUG",
        "EMPTY": "",
    }


def test_missing_env_file_is_empty(tmp_path):
    assert read_env_file(tmp_path / ".env") == {}


def test_env_file_line_without_equals_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / ".env"
    path.write_text("GOOD=1\nnot a pair\n")
    with pytest.raises(ValueError, match=r"\.env:2"):
        read_env_file(path)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        (
            "mongodb://app:hunter2@a:1,b:2/?replicaSet=rs",
            "mongodb://app:***@a:1,b:2/?replicaSet=rs",
        ),
    ],
)
def test_redact_hides_passwords(url, shown):
    assert redact(url) == shown
