"""The public-holidays tool: holidays by country, subdivision and year, computed offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar

import holidays
from holidays.registry import COUNTRIES

from tools.registry import JSONObject, ToolError

MAX_UPCOMING = 50


def _country_names() -> dict[str, str]:
    """Returns ISO alpha-2 codes by lower-case English name and alpha-3 code."""
    names: dict[str, str] = {}
    for module, (class_name, alpha2, alpha3, *_rest) in COUNTRIES.items():
        names[module.replace("_", " ")] = alpha2
        names[class_name.lower()] = alpha2
        names[alpha3.lower()] = alpha2
    return names


class PublicHolidaysTool:
    """`get_public_holidays`: a year's public holidays, or the next N from today.

    Uses the `holidays` package's rules, so nothing is fetched over the network.
    """

    name = "get_public_holidays"
    description = (
        "Public holidays of a country (optionally a subdivision such as a state or region) "
        "for a year, or the next N upcoming ones from today."
    )
    parameters: ClassVar[JSONObject] = {
        "type": "object",
        "properties": {
            "country": {
                "type": "string",
                "minLength": 2,
                "description": "ISO 3166-1 code ('ES') or English name ('Spain').",
            },
            "subdivision": {
                "type": "string",
                "description": "ISO 3166-2 subdivision code without the country, e.g. 'CT'.",
            },
            "year": {"type": "integer", "minimum": 1900, "maximum": 2200},
            "upcoming": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_UPCOMING,
                "description": "Return the next N holidays from today instead of a year.",
            },
        },
        "required": ["country"],
        "additionalProperties": False,
    }

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._names = _country_names()
        self._supported = holidays.list_supported_countries()

    def run(self, arguments: JSONObject) -> str:
        """Returns the holidays as JSON; ToolError for an unknown country or subdivision."""
        code = self._code(str(arguments["country"]))
        subdivision = str(arguments.get("subdivision") or "").upper().removeprefix(f"{code}-")
        if subdivision and subdivision not in self._supported[code]:
            raise ToolError(
                f"{code} has no subdivision {subdivision!r}; known: {', '.join(self._supported[code][:40])}"
            )
        today = self._clock().date()
        if "upcoming" in arguments:
            found = self._upcoming(code, subdivision, today, int(arguments["upcoming"]))
            scope: dict[str, Any] = {"upcoming_from": today.isoformat()}
        else:
            year = int(arguments.get("year", today.year))
            found = sorted(self._calendar(code, subdivision, [year]).items())
            scope = {"year": year}
        body = {
            "country": code,
            "subdivision": subdivision or None,
            **scope,
            "holidays": [{"date": d.isoformat(), "name": name} for d, name in found],
        }
        return json.dumps(body, ensure_ascii=False)

    def _code(self, country: str) -> str:
        key = country.strip()
        if key.upper() in self._supported:
            return key.upper()
        code = self._names.get(key.lower())
        if code is None or code not in self._supported:
            raise ToolError(
                f"no holiday data for country {country!r}; use an ISO code such as 'ES'"
            )
        return code

    def _calendar(self, code: str, subdivision: str, years: list[int]) -> holidays.HolidayBase:
        return holidays.country_holidays(
            code, subdiv=subdivision or None, years=years, language="en_US"
        )

    def _upcoming(
        self, code: str, subdivision: str, today: date, count: int
    ) -> list[tuple[date, str]]:
        found = self._calendar(code, subdivision, [today.year, today.year + 1, today.year + 2])
        return [(d, n) for d, n in sorted(found.items()) if d >= today][:count]
