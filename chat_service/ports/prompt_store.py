"""The PromptStore port: operators' prompt overrides, read by the PromptBook."""

from __future__ import annotations

from typing import Protocol


class PromptStore(Protocol):
    """Reads prompt overrides."""

    def active(self, name: str, platform: str) -> str | None:
        """Returns the content of the highest active version for exactly this platform."""
        ...
