"""The date-and-time tool: now in an IANA time zone, and the date arithmetic users ask for."""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools.registry import JSONObject, ToolError

WEEKDAYS = tuple(name.lower() for name in calendar.day_name)  # monday .. sunday
_RELATIVE = {"today": 0, "tomorrow": 1, "yesterday": -1}
_MAX_OFFSET = 100_000  # days; keeps every result inside date's range


class ClockTool:
    """`get_date_time`: the current date and time, optionally shifted.

    `from` is "today", "tomorrow", "yesterday", a weekday ("friday": the next one, today
    if today is Friday) or an ISO date; the offsets are added to it (months clamp to the
    month's last day). "What day is 3 weeks from Friday?" is `{"from": "friday",
    "offset_weeks": 3}`.
    """

    name = "get_date_time"
    description = (
        "Current date and time in an IANA time zone, and date arithmetic: a date shifted by "
        "days, weeks or months from today, a weekday or a given date, with its weekday."
    )
    parameters: ClassVar[JSONObject] = {
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": "IANA time zone, e.g. 'Europe/Madrid' (default: the service's).",
            },
            "from": {
                "type": "string",
                "description": "'today', 'tomorrow', 'yesterday', a weekday name or YYYY-MM-DD.",
            },
            "offset_days": {"type": "integer", "minimum": -_MAX_OFFSET, "maximum": _MAX_OFFSET},
            "offset_weeks": {"type": "integer", "minimum": -10_000, "maximum": 10_000},
            "offset_months": {"type": "integer", "minimum": -1200, "maximum": 1200},
        },
        "additionalProperties": False,
    }

    def __init__(self, clock: Callable[[], datetime], *, default_timezone: str = "UTC") -> None:
        self._clock = clock
        self._default_timezone = _zone(default_timezone)

    def run(self, arguments: JSONObject) -> str:
        """Returns now (and the computed date when asked) as JSON; ToolError for bad input."""
        zone = _zone(arguments["timezone"]) if arguments.get("timezone") else self._default_timezone
        now = self._clock().astimezone(zone)
        body: dict[str, Any] = {
            "timezone": str(zone),
            "now": now.isoformat(timespec="seconds"),
            "today": now.date().isoformat(),
            "weekday": WEEKDAYS[now.weekday()].title(),
        }
        # The schema's "integer" admits integral floats such as 1.0 (JSON Schema's rule).
        offsets = [
            int(arguments.get(k, 0)) for k in ("offset_days", "offset_weeks", "offset_months")
        ]
        if "from" in arguments or any(offsets):
            start = _start(str(arguments.get("from", "today")), now.date())
            result = _shift(start, days=offsets[0] + 7 * offsets[1], months=offsets[2])
            body["result"] = {
                "from": start.isoformat(),
                "date": result.isoformat(),
                "weekday": WEEKDAYS[result.weekday()].title(),
                "days_from_today": (result - now.date()).days,
            }
        return json.dumps(body)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Madrid'"
        ) from None


def _start(text: str, today: date) -> date:
    key = text.strip().lower()
    if key in _RELATIVE:
        return today + timedelta(days=_RELATIVE[key])
    if key in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS.index(key) - today.weekday()) % 7)
    try:
        return date.fromisoformat(key)
    except ValueError:
        raise ToolError(
            f"'from' must be today, tomorrow, yesterday, a weekday or YYYY-MM-DD, not {text!r}"
        ) from None


def _shift(start: date, *, days: int, months: int) -> date:
    try:
        if months:
            month_index = start.year * 12 + start.month - 1 + months
            year, month = divmod(month_index, 12)
            last_day = calendar.monthrange(year, month + 1)[1]
            start = start.replace(year=year, month=month + 1, day=min(start.day, last_day))
        return start + timedelta(days=days)
    except (ValueError, OverflowError):
        raise ToolError("the resulting date is out of range") from None
