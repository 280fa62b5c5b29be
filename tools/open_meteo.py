"""Open-Meteo weather provider: geocoding, then forecast; no API key needed."""

from __future__ import annotations

from typing import Any

from tools.registry import ToolError
from tools.upstream import HttpUpstream, UpstreamFailure
from tools.weather import WMO_CONDITIONS, Current, DayForecast, Place, WeatherReport

GEOCODING_URL = "https://geocoding-api.open-meteo.com"
FORECAST_URL = "https://api.open-meteo.com"

_CURRENT = "temperature_2m,relative_humidity_2m,apparent_temperature,weather_code,wind_speed_10m"
_DAILY = "weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum"


class OpenMeteoProvider:
    """Resolves the place with the geocoding API, then reads the forecast API.

    Each API is its own upstream (and breaker): `geocoding` and `forecast`.
    """

    def __init__(self, *, geocoding: HttpUpstream, forecast: HttpUpstream) -> None:
        self._geocoding = geocoding
        self._forecast = forecast

    def report(self, location: str, *, days: int) -> WeatherReport:
        """Returns the weather at `location`; ToolError if unknown or an upstream fails."""
        place = self._place(location)
        body = self._forecast.get_json(
            "/v1/forecast",
            {
                "latitude": place.latitude,
                "longitude": place.longitude,
                "current": _CURRENT,
                "daily": _DAILY,
                "timezone": "auto",
                "forecast_days": days,
                "wind_speed_unit": "kmh",
            },
        )
        try:
            return WeatherReport(
                place, _current(body["current"]), _daily(body["daily"]), "open-meteo"
            )
        except (KeyError, TypeError, ValueError, IndexError):
            raise UpstreamFailure("open-meteo sent a forecast in an unexpected shape") from None

    def _place(self, location: str) -> Place:
        body = self._geocoding.get_json(
            "/v1/search", {"name": location, "count": 1, "language": "en", "format": "json"}
        )
        results = body.get("results") if isinstance(body, dict) else None
        if not results:
            raise ToolError(f"no place called {location!r} was found")
        first = results[0]
        try:
            return Place(
                name=str(first["name"]),
                country=str(first.get("country", "")),
                latitude=float(first["latitude"]),
                longitude=float(first["longitude"]),
                timezone=str(first.get("timezone", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise UpstreamFailure("open-meteo sent a place in an unexpected shape") from None


def _current(current: dict[str, Any]) -> Current:
    return Current(
        temperature_c=float(current["temperature_2m"]),
        feels_like_c=_optional(current.get("apparent_temperature")),
        humidity_percent=_optional(current.get("relative_humidity_2m")),
        wind_kph=_optional(current.get("wind_speed_10m")),
        condition=WMO_CONDITIONS.get(int(current.get("weather_code", -1)), "unknown"),
    )


def _daily(daily: dict[str, Any]) -> tuple[DayForecast, ...]:
    rain = daily.get("precipitation_sum") or [None] * len(daily["time"])
    return tuple(
        DayForecast(
            date=str(day),
            min_c=float(daily["temperature_2m_min"][i]),
            max_c=float(daily["temperature_2m_max"][i]),
            precipitation_mm=_optional(rain[i]),
            condition=WMO_CONDITIONS.get(int(daily["weather_code"][i]), "unknown"),
        )
        for i, day in enumerate(daily["time"])
    )


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)
