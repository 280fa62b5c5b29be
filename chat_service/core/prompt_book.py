"""PromptBook: the system and title instructions in force, built-in or overridden per platform.

Overrides come from a PromptStore (MongoDB's `prompts` collection in production). For a
platform the highest active version for that platform wins, then the highest for "all", then
the built-in text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from chat_service.core import prompts
from chat_service.ports.prompt_store import PromptStore

logger = logging.getLogger(__name__)

SYSTEM = "system"
TITLE = "title"
ALL_PLATFORMS = "all"
BUILT_IN = {SYSTEM: prompts.DEFAULT_SYSTEM_PROMPT, TITLE: prompts.TITLE_INSTRUCTION}


class PromptBook:
    """Returns the instructions for a platform, reading overrides at most once per `ttl_s`.

    With no store, or when the store fails, the built-in prompts are used (a failure is
    logged, never raised: a turn does not fail for want of a prompt override).
    """

    def __init__(
        self,
        store: PromptStore | None = None,
        *,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def system(self, platform: str = "") -> str:
        """Returns the system instruction for `platform` ("" for none)."""
        return self._lookup(SYSTEM, platform)

    def title(self, platform: str = "") -> str:
        """Returns the title instruction for `platform`."""
        return self._lookup(TITLE, platform)

    def _lookup(self, name: str, platform: str) -> str:
        if self._store is None:
            return BUILT_IN[name]
        key = (name, platform or ALL_PLATFORMS)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        content = self._read(name, key[1])
        with self._lock:
            self._cache[key] = (now, content)
        return content

    def _read(self, name: str, platform: str) -> str:
        assert self._store is not None
        try:
            for candidate in dict.fromkeys((platform, ALL_PLATFORMS)):
                found = self._store.active(name, candidate)
                if found is not None:
                    return found
        except Exception:
            logger.warning("prompt overrides unreadable; using the built-in prompt", exc_info=True)
        return BUILT_IN[name]
