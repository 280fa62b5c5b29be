"""What the offline model understands: direct weather, date-and-time and holiday questions,
recognised by simple deterministic rules, and the tool call that answers each."""

from __future__ import annotations

import functools
import json
import re
import zoneinfo
from dataclasses import dataclass

from holidays.registry import COUNTRIES

WEATHER_TOOL = "get_weather"
CLOCK_TOOL = "get_date_time"
HOLIDAYS_TOOL = "get_public_holidays"

_WEATHER = re.compile(r"\b(weather|forecast|temperature|raining|rain|sunny|snow)\b", re.I)
_HOLIDAYS = re.compile(r"\bholidays?\b", re.I)
_TIME = re.compile(r"\b(time|date|day|today|tomorrow|weekday)\b", re.I)
_PLACE = re.compile(
    r"\b(?:in|for|at)\s+([A-ZÀ-Ý][\w'’.\-]*(?:[ ,]+[A-ZÀ-Ý][\w'’.\-]*)*)", re.UNICODE
)
_YEAR = re.compile(r"\b(19\d{2}|2[01]\d{2})\b")
_UPCOMING = re.compile(r"\b(next|upcoming|coming)\b", re.I)
_WEEKS_FROM = re.compile(r"\b(\d+)\s+(day|week|month)s?\s+(?:from|after)\s+(\w+)", re.I)


@dataclass(frozen=True, slots=True)
class Intent:
    """A tool call the offline model makes for a question."""

    tool: str
    arguments: dict[str, object]

    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


def intent_of(question: str, available: frozenset[str]) -> Intent | None:
    """Returns the tool call that answers `question`, or None if it is not one the offline
    model understands or its tool is not in `available`."""
    for detect in (_holidays_intent, _weather_intent, _time_intent):
        intent = detect(question)
        if intent is not None and intent.tool in available:
            return intent
    return None


def _weather_intent(question: str) -> Intent | None:
    if not _WEATHER.search(question):
        return None
    place = _place(question)
    return Intent(WEATHER_TOOL, {"location": place}) if place else None


def _holidays_intent(question: str) -> Intent | None:
    if not _HOLIDAYS.search(question):
        return None
    country = _country(question)
    if country is None:
        return None
    arguments: dict[str, object] = {"country": country}
    year = _YEAR.search(question)
    if year:
        arguments["year"] = int(year.group(1))
    elif _UPCOMING.search(question):
        arguments["upcoming"] = 5
    return Intent(HOLIDAYS_TOOL, arguments)


def _time_intent(question: str) -> Intent | None:
    if not _TIME.search(question):
        return None
    arguments: dict[str, object] = {}
    place = _place(question)
    zone = _zones().get(place.lower().replace(" ", "_")) if place else None
    if zone:
        arguments["timezone"] = zone
    shift = _WEEKS_FROM.search(question)
    if shift:
        count, unit, start = int(shift.group(1)), shift.group(2).lower(), shift.group(3).lower()
        arguments[f"offset_{unit}s"] = count
        arguments["from"] = start
    return Intent(CLOCK_TOOL, arguments)


def _place(question: str) -> str:
    match = _PLACE.search(question)
    return match.group(1).strip(" ,.'’") if match else ""


def _country(question: str) -> str | None:
    lowered = f" {re.sub(r'[^a-z ]', ' ', question.lower())} "
    found = [name for name in _country_names() if f" {name} " in lowered]
    return max(found, key=len).title() if found else None


@functools.cache
def _country_names() -> tuple[str, ...]:
    names = {module.replace("_", " ") for module in COUNTRIES}
    names |= {entry[0].lower() for entry in COUNTRIES.values()}
    return tuple(sorted(names))


@functools.cache
def _zones() -> dict[str, str]:
    """Returns IANA zones by their lower-case city part ("madrid" -> "Europe/Madrid")."""
    zones: dict[str, str] = {}
    for name in sorted(zoneinfo.available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/")):
            zones.setdefault(name.rsplit("/", 1)[1].lower(), name)
    return zones
