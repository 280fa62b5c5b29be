"""How the command-line tools (keys, migrations, backup, restore, smoke) reach MongoDB.

Settings come from the environment, and what it leaves unset from the running dev stack
(`devstack.stack_record`: what `make run` or `make servers` started). The server must answer a
ping within CLI_SELECTION_TIMEOUT_MS before a tool prints anything; otherwise MongoUnreachable
says so in one line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.config import Settings, SettingsError
from devstack.stack_record import STACK_DIR, live_record, redact, with_stack_defaults

CLI_SELECTION_TIMEOUT_MS = 2000


class MongoUnreachable(Exception):
    """MongoDB did not answer in time; the message is one line, fit for a terminal."""


@dataclass(frozen=True, slots=True)
class CliDatabase:
    """The settings a tool runs with, its client, and the settings' database."""

    settings: Settings
    client: MongoClient[dict[str, Any]]

    @property
    def database(self) -> Database[dict[str, Any]]:
        return self.client[self.settings.mongo_database]


def cli_settings(environ: Mapping[str, str], *, stack_dir: Path = STACK_DIR) -> Settings:
    """Returns the settings of `environ`, with the running dev stack's addresses for what it
    leaves unset. Raises SettingsError."""
    return Settings.from_env(with_stack_defaults(environ, live_record(directory=stack_dir)))


@contextmanager
def cli_database(
    environ: Mapping[str, str], *, stack_dir: Path = STACK_DIR
) -> Iterator[CliDatabase]:
    """Yields a client whose server answered a ping; closes it afterwards.

    Raises SettingsError for unusable settings (a MONGO_URI that is no URI among them) and
    MongoUnreachable when no server answers within CLI_SELECTION_TIMEOUT_MS (or
    MONGO_TIMEOUT_MS, if shorter).
    """
    record = live_record(directory=stack_dir)
    settings = Settings.from_env(with_stack_defaults(environ, record))
    try:
        client = connect_mongo(
            settings.mongo_uri,
            timeout_ms=settings.mongo_timeout_ms,
            server_selection_timeout_ms=min(CLI_SELECTION_TIMEOUT_MS, settings.mongo_timeout_ms),
            max_pool_size=4,
        )
    except (PyMongoError, ValueError) as exc:
        raise SettingsError(f"MONGO_URI is not a usable MongoDB URI: {first_error(exc)}") from exc
    try:
        try:
            client.admin.command("ping")
        except PyMongoError as exc:
            raise MongoUnreachable(
                _unreachable(settings, environ, record is not None, exc)
            ) from exc
        yield CliDatabase(settings, client)
    finally:
        client.close()


def _unreachable(
    settings: Settings, environ: Mapping[str, str], from_stack: bool, exc: PyMongoError
) -> str:
    wait_s = min(CLI_SELECTION_TIMEOUT_MS, settings.mongo_timeout_ms) / 1000
    where = f"cannot reach MongoDB at {redact(settings.mongo_uri)} within {wait_s:g} s"
    if any(environ.get(name, "").strip() for name in ("MONGO_URI", "MONGODB_URI")):
        source = "MONGO_URI"
    elif from_stack:
        source = "the dev stack recorded in var/stack/"
    else:
        source = (
            "the default: MONGO_URI is not set and no dev stack is running;"
            " start one with `make run` or `make servers`"
        )
    return f"{where} ({source}): {first_error(exc)}"


def first_error(exc: BaseException | None) -> str:
    """Returns the first line of a pymongo error, without the timeouts and the topology
    description pymongo appends to it."""
    if exc is None:
        return "no detail"
    text = str(exc).split(" (configured timeouts", 1)[0].split(", Timeout:", 1)[0]
    return text.split("\n", 1)[0].strip() or type(exc).__name__
