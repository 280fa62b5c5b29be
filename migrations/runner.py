"""Finds the migrations, applies pending ones in order, rolls back the last, reports status.

Every function raises StorageUnavailable when MongoDB cannot be reached.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.timestamps import to_stored
from migrations import versions

Db = Database[dict[str, Any]]
_MODULE_NAME = re.compile(r"v(\d{4})_\w+")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema change: `up` applies it, `down` reverts it; both are idempotent."""

    version: int
    name: str
    up: Callable[[Db], None]
    down: Callable[[Db], None]

    def __str__(self) -> str:
        return f"v{self.version:04d} {self.name}"


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """A migration and when it was applied (None while pending)."""

    migration: Migration
    applied_at: datetime | None


@functools.cache
def discover() -> tuple[Migration, ...]:
    """Returns every migration in `migrations.versions`, by ascending version.

    Raises ValueError if a module's name and VERSION disagree or two share a version.
    """
    found: list[Migration] = []
    for module_info in pkgutil.iter_modules(versions.__path__):
        match = _MODULE_NAME.fullmatch(module_info.name)
        if match is None:
            continue
        module = importlib.import_module(f"{versions.__name__}.{module_info.name}")
        if int(match.group(1)) != module.VERSION:
            raise ValueError(f"{module_info.name} declares VERSION = {module.VERSION}")
        found.append(Migration(module.VERSION, module.NAME, module.up, module.down))
    found.sort(key=lambda migration: migration.version)
    if len({migration.version for migration in found}) != len(found):
        raise ValueError("two migrations share a version")
    return tuple(found)


def status(db: Db) -> list[MigrationStatus]:
    """Returns every known migration with its applied time, by ascending version."""
    applied = _applied(db)
    return [MigrationStatus(m, applied.get(m.version)) for m in discover()]


def pending(db: Db) -> list[Migration]:
    """Returns the migrations not applied yet, in the order they would run (one query)."""
    applied = _applied(db)
    return [migration for migration in discover() if migration.version not in applied]


def apply_all(db: Db, *, clock: Callable[[], datetime] | None = None) -> list[Migration]:
    """Applies the pending migrations in order, recording each; returns those it applied.

    Safe to run from several processes at once: migrations are idempotent and a version
    recorded meanwhile by another runner is not recorded twice.
    """
    now = clock or (lambda: datetime.now(UTC))
    done: list[Migration] = []
    for migration in pending(db):
        with storage_errors():
            migration.up(db)
            try:
                db.schema_migrations.insert_one(
                    {
                        "_id": migration.version,
                        "name": migration.name,
                        "applied_at": to_stored(now()),
                    }
                )
            except DuplicateKeyError:
                continue  # another runner applied and recorded it first
        done.append(migration)
    return done


def rollback_last(db: Db) -> Migration | None:
    """Reverts the most recently applied migration (one step); returns it, None if none."""
    applied = _applied(db)
    known = [migration for migration in discover() if migration.version in applied]
    if not known:
        return None
    migration = known[-1]
    with storage_errors():
        migration.down(db)
        db.schema_migrations.delete_one({"_id": migration.version})
    return migration


def _applied(db: Db) -> dict[int, datetime]:
    with storage_errors():
        records = list(db.schema_migrations.find({}, {"applied_at": True}))
    return {record["_id"]: to_stored(record["applied_at"]) for record in records}
