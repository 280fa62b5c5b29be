"""Versioned MongoDB migrations (indexes, collections) and their runner.

Each migration is a module `migrations/versions/vNNNN_<name>.py` with VERSION, NAME, up(db)
and down(db); applied versions are recorded in the `schema_migrations` collection.
"""

from migrations.runner import (
    Migration,
    MigrationStatus,
    apply_all,
    discover,
    pending,
    rollback_last,
    status,
)

__all__ = [
    "Migration",
    "MigrationStatus",
    "apply_all",
    "discover",
    "pending",
    "rollback_last",
    "status",
]
