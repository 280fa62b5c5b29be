"""How the offline model words the results of the tools it called (no invention: only what the
tool returned, or that it failed)."""

from __future__ import annotations

import json
from typing import Any

from chat_service.adapters.llm.offline_intents import CLOCK_TOOL, HOLIDAYS_TOOL, WEATHER_TOOL

NOTE = "(Offline mode: answered from the {tool} tool, without a language model.)"
MAX_FORECAST_LINES = 7


def answer(tool: str, result: str) -> str:
    """Returns the user-facing answer built from `tool`'s `result` (JSON text)."""
    try:
        body = json.loads(result)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return f"The {tool} tool returned something I cannot read, so I have no answer. {NOTE.format(tool=tool)}"
    if "error" in body:
        return _failure(tool, str(body["error"]))
    wording = {WEATHER_TOOL: _weather, CLOCK_TOOL: _clock, HOLIDAYS_TOOL: _holidays}.get(tool)
    text = wording(body) if wording else json.dumps(body, ensure_ascii=False, indent=2)
    return f"{text}\n\n{NOTE.format(tool=tool)}"


def _failure(tool: str, error: str) -> str:
    subject = {WEATHER_TOOL: "the weather", HOLIDAYS_TOOL: "the holidays"}.get(tool, "that")
    return (
        f"Sorry, I could not get {subject}: the {tool} tool failed ({error}). "
        "I won't guess instead; please try again later. " + NOTE.format(tool=tool)
    )


def _weather(body: dict[str, Any]) -> str:
    place, now = body["place"], body["current"]
    where = ", ".join(p for p in (place.get("name"), place.get("country")) if p)
    parts = [f"{now['temperature_c']:g} °C"]
    if now.get("feels_like_c") is not None:
        parts.append(f"feels like {now['feels_like_c']:g} °C")
    parts.append(str(now.get("condition", "")))
    if now.get("wind_kph") is not None:
        parts.append(f"wind {now['wind_kph']:g} km/h")
    lines = [f"Weather in {where} now: {', '.join(p for p in parts if p)}."]
    for day in body.get("forecast", [])[:MAX_FORECAST_LINES]:
        lines.append(f"- {day['date']}: {day['min_c']:g}–{day['max_c']:g} °C, {day['condition']}")
    return "\n".join(lines) + f"\n(Source: {body.get('source', 'unknown')}.)"


def _clock(body: dict[str, Any]) -> str:
    text = f"It is {body['weekday']}, {body['now'].replace('T', ' ')} in {body['timezone']}."
    result = body.get("result")
    if result:
        text += f" The date you asked about is {result['weekday']}, {result['date']}."
    return text


def _holidays(body: dict[str, Any]) -> str:
    region = body["country"] + (f"-{body['subdivision']}" if body.get("subdivision") else "")
    scope = f"in {body['year']}" if "year" in body else f"from {body.get('upcoming_from')}"
    found = body.get("holidays", [])
    if not found:
        return f"I found no public holidays for {region} {scope}."
    lines = [f"Public holidays for {region} {scope}:"]
    lines += [f"- {h['date']}: {h['name']}" for h in found]
    return "\n".join(lines)
