"""The tools the service offers, built from settings: the built-ins and the entry-point plugins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import requests

from chat_service.config import Settings
from chat_service.core.breakers import BreakerBoard
from tools.calendar_feed import CalendarFeedTool
from tools.clock import ClockTool
from tools.open_meteo import OpenMeteoProvider
from tools.plugins import ToolContext, plugin_tools
from tools.public_holidays import PublicHolidaysTool
from tools.registry import Tool, ToolRegistry
from tools.upstream import HttpUpstream
from tools.weather import WeatherProvider, WeatherTool
from tools.weatherapi import WeatherApiProvider

# The weather tool's upstreams; each has its breaker "tool:<name>".
WEATHER_UPSTREAMS = ("weatherapi", "open-meteo-geocoding", "open-meteo-forecast")


def build_tool_registry(
    settings: Settings,
    *,
    http: requests.Session,
    breakers: BreakerBoard,
    clock: Callable[[], datetime],
    load_plugins: bool = True,
) -> ToolRegistry:
    """Returns the registry: weather, date and time, public holidays, the calendar feed when
    CALENDAR_ICS_URL is set, then the plugins. Raises DuplicateToolName, PluginError."""
    builtin: list[Tool] = [
        WeatherTool(_weather_provider(settings, http=http, breakers=breakers)),
        ClockTool(clock, default_timezone=settings.default_timezone),
        PublicHolidaysTool(clock),
    ]
    if settings.calendar_ics_url:
        feed = HttpUpstream(
            "calendar-feed",
            settings.calendar_ics_url,
            http=http,
            breakers=breakers,
            timeout_s=settings.weather_timeout_s,
        )
        builtin.append(
            CalendarFeedTool(feed, clock=clock, cache_ttl_s=settings.calendar_cache_ttl_s)
        )
    registry = ToolRegistry(builtin)
    if not load_plugins:
        return registry
    context = ToolContext(
        http=http, breakers=breakers, clock=clock, timeout_s=settings.weather_timeout_s
    )
    return registry.with_tools(plugin_tools(context))


def _weather_provider(
    settings: Settings, *, http: requests.Session, breakers: BreakerBoard
) -> WeatherProvider:
    def upstream(name: str, url: str) -> HttpUpstream:
        return HttpUpstream(
            name, url, http=http, breakers=breakers, timeout_s=settings.weather_timeout_s
        )

    if settings.weather_api_key:
        return WeatherApiProvider(
            upstream(WEATHER_UPSTREAMS[0], settings.weatherapi_base_url),
            api_key=settings.weather_api_key.reveal(),
        )
    return OpenMeteoProvider(
        geocoding=upstream(WEATHER_UPSTREAMS[1], settings.open_meteo_geocoding_url),
        forecast=upstream(WEATHER_UPSTREAMS[2], settings.open_meteo_forecast_url),
    )
