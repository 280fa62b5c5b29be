"""WeatherAPI.com weather provider (used when WEATHER_API_KEY is set)."""

from __future__ import annotations

from typing import Any

from tools.registry import ToolError
from tools.upstream import HttpUpstream, UpstreamFailure, UpstreamRefused
from tools.weather import Current, DayForecast, Place, WeatherReport

WEATHERAPI_URL = "https://api.weatherapi.com"

# WeatherAPI answers 400 with this code when it cannot resolve the place.
_NO_LOCATION_FOUND = 1006


class WeatherApiProvider:
    """Reads `/v1/forecast.json`; the key goes in the query string and is never logged."""

    def __init__(self, upstream: HttpUpstream, *, api_key: str) -> None:
        self._upstream = upstream
        self._api_key = api_key

    def report(self, location: str, *, days: int) -> WeatherReport:
        """Returns the weather at `location`; ToolError if unknown or the upstream fails."""
        try:
            body = self._upstream.get_json(
                "/v1/forecast.json",
                {"key": self._api_key, "q": location, "days": days, "aqi": "no", "alerts": "no"},
            )
        except UpstreamRefused as exc:
            if exc.status == 400:
                raise ToolError(f"no place called {location!r} was found") from None
            raise
        try:
            return _report(body)
        except (KeyError, TypeError, ValueError):
            raise UpstreamFailure("weatherapi sent a forecast in an unexpected shape") from None


def _report(body: dict[str, Any]) -> WeatherReport:
    where, now = body["location"], body["current"]
    place = Place(
        name=str(where["name"]),
        country=str(where.get("country", "")),
        latitude=float(where["lat"]),
        longitude=float(where["lon"]),
        timezone=str(where.get("tz_id", "")),
    )
    current = Current(
        temperature_c=float(now["temp_c"]),
        feels_like_c=float(now["feelslike_c"]) if "feelslike_c" in now else None,
        humidity_percent=float(now["humidity"]) if "humidity" in now else None,
        wind_kph=float(now["wind_kph"]) if "wind_kph" in now else None,
        condition=str(now.get("condition", {}).get("text", "unknown")).lower(),
    )
    forecast = tuple(
        DayForecast(
            date=str(day["date"]),
            min_c=float(day["day"]["mintemp_c"]),
            max_c=float(day["day"]["maxtemp_c"]),
            precipitation_mm=float(day["day"].get("totalprecip_mm", 0.0)),
            condition=str(day["day"].get("condition", {}).get("text", "unknown")).lower(),
        )
        for day in body["forecast"]["forecastday"]
    )
    return WeatherReport(place, current, forecast, "weatherapi")
