"""The weather tool: current conditions and a multi-day forecast for a place, from a provider."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol

from tools.registry import JSONObject

MAX_FORECAST_DAYS = 7


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place."""

    name: str
    country: str
    latitude: float
    longitude: float
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class Current:
    """Conditions now."""

    temperature_c: float
    feels_like_c: float | None
    humidity_percent: float | None
    wind_kph: float | None
    condition: str


@dataclass(frozen=True, slots=True)
class DayForecast:
    """One day of the forecast (local date of the place)."""

    date: str
    min_c: float
    max_c: float
    precipitation_mm: float | None
    condition: str


@dataclass(frozen=True, slots=True)
class WeatherReport:
    """What a provider returns for a place."""

    place: Place
    current: Current
    forecast: tuple[DayForecast, ...]
    source: str


class WeatherProvider(Protocol):
    """Looks up the weather of a place by name.

    Raises ToolError (or a subclass) when the place is unknown or the upstream fails.
    """

    def report(self, location: str, *, days: int) -> WeatherReport: ...


class WeatherTool:
    """`get_weather`: current conditions and a forecast of 1-7 days for a named place."""

    name = "get_weather"
    description = (
        "Current weather and a daily forecast (1-7 days) for a city or place. "
        "Temperatures in °C, wind in km/h, precipitation in mm."
    )
    parameters: ClassVar[JSONObject] = {
        "type": "object",
        "properties": {
            "location": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": "Place name, e.g. 'Barcelona' or 'Paris, France'.",
            },
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_FORECAST_DAYS,
                "description": "Days of forecast, today included (default 3).",
            },
        },
        "required": ["location"],
        "additionalProperties": False,
    }

    def __init__(self, provider: WeatherProvider) -> None:
        self._provider = provider

    def run(self, arguments: JSONObject) -> str:
        """Returns the report as JSON; raises ToolError from the provider."""
        report = self._provider.report(
            str(arguments["location"]).strip(), days=int(arguments.get("days", 3))
        )
        body: dict[str, Any] = asdict(report)
        body["forecast"] = list(body["forecast"])
        return json.dumps(body, ensure_ascii=False)


# WMO weather interpretation codes (Open-Meteo's `weather_code`).
WMO_CONDITIONS = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "depositing rime fog",
    51: "light drizzle",
    53: "moderate drizzle",
    55: "dense drizzle",
    56: "light freezing drizzle",
    57: "dense freezing drizzle",
    61: "slight rain",
    63: "moderate rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "heavy freezing rain",
    71: "slight snow fall",
    73: "moderate snow fall",
    75: "heavy snow fall",
    77: "snow grains",
    80: "slight rain showers",
    81: "moderate rain showers",
    82: "violent rain showers",
    85: "slight snow showers",
    86: "heavy snow showers",
    95: "thunderstorm",
    96: "thunderstorm with slight hail",
    99: "thunderstorm with heavy hail",
}
