"""The calendar tool: events of the ICS feed the operator configured, parsed with icalendar, cached."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

import icalendar

from tools.registry import JSONObject, ToolError
from tools.upstream import HttpUpstream, UpstreamFailure

MAX_DAYS = 366
MAX_EVENTS = 100


@dataclass(frozen=True, slots=True)
class Event:
    """One calendar event; `start`/`end` are ISO dates (all-day) or date-times."""

    start: str
    end: str
    summary: str
    location: str
    sort_key: datetime


class CalendarFeedTool:
    """`get_calendar_events`: events of the configured feed in a date range.

    The feed URL comes from the operator (CALENDAR_ICS_URL), never from the user or the
    model. The parsed feed is kept for `cache_ttl_s`; recurring events appear at their
    first occurrence only (RRULEs are not expanded).
    """

    name = "get_calendar_events"
    description = (
        "Events from the organisation's calendar feed between two dates: date, time, title "
        "and location of each."
    )
    parameters: ClassVar[JSONObject] = {
        "type": "object",
        "properties": {
            "from_date": {
                "type": "string",
                "format": "date",
                "description": "YYYY-MM-DD (default today).",
            },
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_DAYS,
                "description": "Length of the range (default 30).",
            },
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_EVENTS},
        },
        "additionalProperties": False,
    }

    def __init__(
        self,
        feed: HttpUpstream,
        *,
        clock: Callable[[], datetime],
        cache_ttl_s: float = 900.0,
    ) -> None:
        self._feed = feed
        self._clock = clock
        self._cache_ttl_s = cache_ttl_s
        self._lock = threading.Lock()
        self._cached: tuple[datetime, list[Event]] | None = None

    def run(self, arguments: JSONObject) -> str:
        """Returns the events in range as JSON; ToolError when the feed cannot be read."""
        today = self._clock().date()
        try:
            first = (
                date.fromisoformat(arguments["from_date"]) if "from_date" in arguments else today
            )
        except ValueError:
            raise ToolError("from_date must be YYYY-MM-DD") from None
        try:
            last = first + timedelta(days=int(arguments.get("days", 30)))
        except OverflowError:  # e.g. from_date 9999-12-31: the range ends past year 9999
            raise ToolError("the date range ends after 9999-12-31") from None
        low, high = datetime.combine(first, time.min), datetime.combine(last, time.min)
        events = [e for e in self._events() if low <= e.sort_key < high]
        limit = int(arguments.get("limit", MAX_EVENTS))
        body = {
            "from_date": first.isoformat(),
            "to_date": last.isoformat(),
            "events": [
                {"start": e.start, "end": e.end, "summary": e.summary, "location": e.location}
                for e in events[:limit]
            ],
            "more": max(0, len(events) - limit),
        }
        return json.dumps(body, ensure_ascii=False)

    def _events(self) -> list[Event]:
        now = self._clock()
        with self._lock:
            if self._cached and (now - self._cached[0]).total_seconds() < self._cache_ttl_s:
                return self._cached[1]
        events = parse_events(self._feed.get_bytes())
        with self._lock:
            self._cached = (now, events)
        return events


def parse_events(feed: bytes) -> list[Event]:
    """Returns the VEVENTs of an ICS document by start; UpstreamFailure if it is not one."""
    try:
        parsed = icalendar.Calendar.from_ical(feed)
    except ValueError:
        raise UpstreamFailure("the calendar feed is not a valid iCalendar document") from None
    events = []
    for component in parsed.walk("VEVENT"):
        start = _moment(component.get("DTSTART"))
        if start is None:
            continue
        end = _moment(component.get("DTEND")) or start
        events.append(
            Event(
                start=start.isoformat(),
                end=end.isoformat(),
                summary=str(component.get("SUMMARY", "")),
                location=str(component.get("LOCATION", "")),
                sort_key=_naive(start),
            )
        )
    events.sort(key=lambda e: e.sort_key)
    return events


def _moment(prop: Any) -> date | datetime | None:
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def _naive(moment: date | datetime) -> datetime:
    # Events compare by their own wall-clock time: a feed is about one organisation's days.
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=None)
    return datetime.combine(moment, time.min)
