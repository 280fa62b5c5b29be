"""The OwnerSettingsStore port: what an owner sets for all its conversations (default
instructions)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class OwnerSettingsStore(Protocol):
    """Reads and writes an owner's settings; raises StorageUnavailable when the store is down."""

    def instructions(self, owner: str) -> str:
        """Returns the owner's default instructions ("" when none are set)."""
        ...

    def set_instructions(self, owner: str, instructions: str, *, now: datetime) -> None:
        """Sets the owner's default instructions ("" removes them)."""
        ...
