"""A local HTTP server speaking Open-Meteo's geocoding and forecast APIs, WeatherAPI.com's
forecast API and serving an ICS feed; scripted per test."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PLACES = {
    "barcelona": {
        "name": "Barcelona",
        "country": "Spain",
        "latitude": 41.38879,
        "longitude": 2.15899,
        "timezone": "Europe/Madrid",
    },
    "são paulo": {
        "name": "São Paulo",
        "country": "Brazil",
        "latitude": -23.5475,
        "longitude": -46.63611,
        "timezone": "America/Sao_Paulo",
    },
}

ICS_FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//fake//calendar//EN\r
BEGIN:VEVENT\r
UID:1@fake\r
DTSTART;VALUE=DATE:20261208\r
DTEND;VALUE=DATE:20261209\r
SUMMARY:Office closed\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2@fake\r
DTSTART:20261201T093000Z\r
DTEND:20261201T100000Z\r
SUMMARY:Team meeting\r
LOCATION:Room 4\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:3@fake\r
DTSTART;VALUE=DATE:20270115\r
SUMMARY:Far away\r
END:VEVENT\r
END:VCALENDAR\r
"""


@dataclass
class Seen:
    """One request: path and decoded query (one value per key)."""

    path: str
    query: dict[str, str]
    raw_query: str


@dataclass
class _State:
    status: int | None = None  # answer every request with this status when set
    delay_s: float = 0.0
    ics: bytes = ICS_FEED
    seen: list[Seen] = field(default_factory=list)


class FakeWeatherServer:
    """Serves `/v1/search`, `/v1/forecast`, `/v1/forecast.json` and `/calendar.ics` on loopback.

    `fail_with(status)` makes every request answer that status; `delay_s` delays each
    request (one thread per connection, so delays overlap).
    """

    API_KEY = "wapi-SECRET-KEY-123"

    def __init__(self) -> None:
        self.state = _State()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self.state.seen)

    def fail_with(self, status: int | None) -> None:
        self.state.status = status

    def reset(self) -> None:
        with self._lock:
            self.state = _State()

    def __enter__(self) -> FakeWeatherServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.state.seen.append(seen)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        fake: FakeWeatherServer = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        fake._record(Seen(parts.path, query, parts.query))
        state = fake.state
        if state.delay_s:
            time.sleep(state.delay_s)
        if state.status is not None:
            return self._json(state.status, {"error": True, "reason": "scripted failure"})
        if parts.path == "/v1/search":
            place = PLACES.get(query.get("name", "").lower())
            return self._json(200, {"results": [place]} if place else {"generationtime_ms": 0.1})
        if parts.path == "/v1/forecast":
            return self._json(200, _open_meteo_forecast(int(query.get("forecast_days", 3))))
        if parts.path == "/v1/forecast.json":
            if query.get("key") != FakeWeatherServer.API_KEY:
                return self._json(401, {"error": {"code": 2006, "message": "API key is invalid."}})
            place = PLACES.get(query.get("q", "").lower())
            if place is None:
                return self._json(
                    400, {"error": {"code": 1006, "message": "No matching location found."}}
                )
            return self._json(200, _weatherapi_forecast(place, int(query.get("days", 3))))
        if parts.path == "/calendar.ics":
            return self._send(200, state.ics, "text/calendar")
        return self._json(404, {"error": True, "reason": "not found"})

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _open_meteo_forecast(days: int) -> dict[str, Any]:
    dates = [f"2026-11-{25 + i:02d}" for i in range(days)]
    return {
        "current": {
            "temperature_2m": 17.3,
            "relative_humidity_2m": 64,
            "apparent_temperature": 16.1,
            "weather_code": 2,
            "wind_speed_10m": 11.5,
        },
        "daily": {
            "time": dates,
            "weather_code": [61] * days,
            "temperature_2m_max": [19.0] * days,
            "temperature_2m_min": [11.0] * days,
            "precipitation_sum": [1.2] * days,
        },
    }


def _weatherapi_forecast(place: dict[str, Any], days: int) -> dict[str, Any]:
    return {
        "location": {
            "name": place["name"],
            "country": place["country"],
            "lat": place["latitude"],
            "lon": place["longitude"],
            "tz_id": place["timezone"],
        },
        "current": {
            "temp_c": 18.0,
            "feelslike_c": 17.0,
            "humidity": 60,
            "wind_kph": 9.0,
            "condition": {"text": "Sunny"},
        },
        "forecast": {
            "forecastday": [
                {
                    "date": f"2026-11-{25 + i:02d}",
                    "day": {
                        "mintemp_c": 10.0,
                        "maxtemp_c": 20.0,
                        "totalprecip_mm": 0.0,
                        "condition": {"text": "Sunny"},
                    },
                }
                for i in range(days)
            ]
        },
    }
