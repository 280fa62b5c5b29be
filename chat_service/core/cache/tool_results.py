"""Tool results cached by each tool's volatility, and the TTL of a reply that used tools.

A tool's TTL says how long its result stays true: the weather for minutes, public holidays
for a day (a year's holidays do not change; "the next N" moves with the date), the calendar
feed as long as CALENDAR_CACHE_TTL_S, the date and time never. A tool with no TTL configured
(a plugin, say) is never cached, so a new tool is safe until someone decides. Results are
also scoped to the day, because tools read "today" when an argument leaves the date out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from chat_service.core.cache.keys import Json, tool_result_key
from chat_service.ports.response_cache import Computed, ResponseCache

# Seconds each built-in tool's result may be reused; 0 means never.
DEFAULT_TOOL_TTLS_S: Mapping[str, float] = {
    "get_weather": 10 * 60,
    "get_public_holidays": 24 * 3600,
    "get_calendar_events": 15 * 60,
    "get_date_time": 0,
}


def tool_ttls_s(*, calendar_ttl_s: float) -> dict[str, float]:
    """Returns the built-in TTLs with the calendar feed's set to `calendar_ttl_s`."""
    return {**DEFAULT_TOOL_TTLS_S, "get_calendar_events": calendar_ttl_s}


@dataclass(frozen=True, slots=True)
class ToolVolatility:
    """How long each tool's result may be cached, by tool name."""

    ttl_s_by_tool: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TOOL_TTLS_S))

    def ttl_s(self, tool_name: str) -> float | None:
        """Returns the tool's TTL in seconds, None if its results must never be cached."""
        ttl = self.ttl_s_by_tool.get(tool_name, 0)
        return ttl if ttl > 0 else None

    def reply_ttl_s(self, tools_used: Iterable[str], *, max_ttl_s: float) -> float | None:
        """Returns how long a reply that used `tools_used` may be cached: the smallest of
        their TTLs and `max_ttl_s`, or None if any of them is never cached."""
        ttl = max_ttl_s
        for name in tools_used:
            tool_ttl = self.ttl_s(name)
            if tool_ttl is None:
                return None
            ttl = min(ttl, tool_ttl)
        return ttl if ttl > 0 else None


class ToolResultCache:
    """Runs a tool through the response cache, keyed by owner, tool name, arguments and the
    date `clock` gives (pass the tools' own clock, so "today" means the same to both).

    Identical concurrent calls run the tool once (the cache's single flight).
    """

    def __init__(
        self,
        cache: ResponseCache,
        *,
        volatility: ToolVolatility,
        max_ttl_s: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._cache = cache
        self._volatility = volatility
        self._max_ttl_s = max_ttl_s
        self._clock = clock

    def run(
        self,
        *,
        owner: str,
        tool_name: str,
        arguments: Mapping[str, Json],
        execute: Callable[[], str],
        cacheable: Callable[[str], bool] = lambda result: True,
    ) -> str:
        """Returns the tool's result for these arguments, from the cache when fresh.

        Tools that are never cached run every time. What `execute` raises propagates and
        nothing is stored; `cacheable` can also refuse to store a particular result.
        """
        tool_ttl = self._volatility.ttl_s(tool_name)
        if tool_ttl is None:
            return execute()
        ttl = min(tool_ttl, self._max_ttl_s)

        def compute() -> Computed:
            result = execute()
            return Computed(json.dumps(result), ttl if cacheable(result) else None)

        day = self._clock().date().isoformat()
        key = tool_result_key(tool_name, owner=owner, arguments=arguments, day=day)
        cached = self._cache.get_or_compute(key, kind="tool", compute=compute)
        result: str = json.loads(cached.value)
        return result
