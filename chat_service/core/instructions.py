"""Standing instructions: a conversation's own, or else its owner's default, within a size limit."""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime

from chat_service.core.errors import InvalidRequest
from chat_service.ports.owner_settings import OwnerSettingsStore

# Line breaks and tabs are text; other control and format characters are refused.
_ALLOWED_CONTROLS = frozenset("\n\r\t")


class StandingInstructions:
    """Checks instructions and says which ones a turn runs with.

    An owner's default is read from the store at most once per `ttl_s` per process, so a
    change reaches every worker within that time; without a store owners have no default.
    """

    def __init__(
        self,
        store: OwnerSettingsStore | None = None,
        *,
        max_chars: int = 4000,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._max_chars = max_chars
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @property
    def max_chars(self) -> int:
        """Returns the most characters instructions may have (MAX_INSTRUCTIONS_CHARS)."""
        return self._max_chars

    def checked(self, instructions: str, *, argument: str = "instructions") -> str:
        """Returns `instructions` without surrounding blanks; raises InvalidRequest when
        they are longer than the limit or hold control characters other than line breaks
        and tabs."""
        instructions = instructions.strip()
        if len(instructions) > self._max_chars:
            raise InvalidRequest(
                argument, f"{argument} is longer than {self._max_chars} characters"
            )
        for char in instructions:
            if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cf"):
                raise InvalidRequest(argument, f"{argument} must not contain control characters")
        return instructions

    def for_turn(self, owner: str, conversation_instructions: str) -> str:
        """Returns the instructions a turn of `owner`'s conversation runs with: the
        conversation's own when it has some, else the owner's default. Raises
        StorageUnavailable when the default must be read and cannot be."""
        if conversation_instructions or self._store is None:
            return conversation_instructions
        now = self._clock()
        with self._lock:
            cached = self._cache.get(owner)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        instructions = self._store.instructions(owner)
        with self._lock:
            self._cache[owner] = (now, instructions)
        return instructions

    def owner_default(self, owner: str) -> str:
        """Returns the owner's default instructions as stored ("" for none)."""
        return "" if self._store is None else self._store.instructions(owner)

    def set_owner_default(self, owner: str, instructions: str, *, now: datetime) -> str:
        """Checks and stores the owner's default instructions ("" removes them); returns
        them as stored. Raises InvalidRequest, StorageUnavailable."""
        instructions = self.checked(instructions)
        if self._store is None:
            raise InvalidRequest("instructions", "this server keeps no owner settings")
        self._store.set_instructions(owner, instructions, now=now)
        with self._lock:
            self._cache.pop(owner, None)
        return instructions
