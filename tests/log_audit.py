"""The log audit: every record of a test run goes through the production log pipeline (JSON
formatter and redaction) into memory; at the end of the run no watched secret may appear.

tests/conftest.py installs it for the whole session and fails the run on a leak.
"""

from __future__ import annotations

import logging
import threading

from chat_service.observability.logs import log_handler
from chat_service.observability.redaction import Redactor
from tests import canaries


class LogAudit(logging.Handler):
    """Formats each record as production would and keeps the lines, to scan them later."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self._production = log_handler(redactor=Redactor())
        self._lines: list[str] = []
        self._secrets: dict[str, str] = {
            "OpenAI key": canaries.OPENAI_KEY,
            "API key": canaries.API_KEY,
            "MongoDB password": canaries.MONGO_PASSWORD,
        }
        self._guard = threading.Lock()

    def watch(self, label: str, secret: str) -> None:
        """Adds a secret (e.g. an API key a test generated) to those the audit looks for."""
        with self._guard:
            self._secrets[f"{label} #{len(self._secrets)}"] = secret

    def emit(self, record: logging.LogRecord) -> None:
        for production_filter in self._production.filters:
            production_filter.filter(record)  # type: ignore[union-attr]
        line = self._production.format(record)
        with self._guard:
            self._lines.append(line)

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def leaks(self) -> list[str]:
        """Returns one description per (secret, line) leak: the secret's label and the logger."""
        found = []
        with self._guard:
            for label, secret in self._secrets.items():
                for line in self._lines:
                    if secret in line:
                        found.append(f"{label} in: {line[:200].replace(secret, '<secret>')}")
        return found
