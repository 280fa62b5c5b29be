"""The calendar tool's date range: a range that would end past year 9999 is a clean ToolError
(found by tests/fuzz/test_tool_arguments.py: it used to escape as OverflowError)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from chat_service.core.breakers import BreakerBoard
from tools.calendar_feed import CalendarFeedTool
from tools.registry import ToolError, ToolRegistry
from tools.upstream import HttpUpstream


def test_a_range_ending_after_9999_is_a_tool_error_not_an_overflow():
    # The range is checked before the feed is read: nothing connects to this address.
    feed = HttpUpstream(
        "calendar-feed",
        "http://127.0.0.1:9/never-read.ics",
        http=requests.Session(),
        breakers=BreakerBoard(max_failures=3, cooldown_s=1.0),
        timeout_s=1.0,
    )
    tool = CalendarFeedTool(feed, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ToolError, match="the date range ends after 9999-12-31"):
        ToolRegistry([tool]).run(tool.name, '{"from_date": "9999-12-31", "days": 2}')
