"""GetUsage: an owner's usage over a period of UTC days, by day and by model, from the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from chat_service.core.errors import InvalidRequest
from chat_service.core.usage import UsageRecord
from chat_service.ports.usage_ledger import UsageLedger

MAX_PERIOD_DAYS = 366


@dataclass(frozen=True, slots=True)
class UsageSum:
    """Tokens, USD cost, model calls, turns and turns answered from the response cache."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    turns: int = 0
    cached_turns: int = 0


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """The usage of one provider's model."""

    provider: str
    model: str
    usage: UsageSum


@dataclass(frozen=True, slots=True)
class DayUsage:
    """The usage of one UTC day, in all and by model."""

    day: date
    usage: UsageSum
    models: tuple[ModelUsage, ...] = ()


@dataclass(frozen=True, slots=True)
class UsageReport:
    """An owner's usage from `first_day` to `last_day` (inclusive): the total, each day that
    had any (oldest first) and each model (costliest first)."""

    first_day: date
    last_day: date
    total: UsageSum = field(default_factory=UsageSum)
    days: tuple[DayUsage, ...] = ()
    models: tuple[ModelUsage, ...] = ()


def period(start_date: str, end_date: str, *, today: date) -> tuple[date, date]:
    """Returns the days `start_date` to `end_date` (`YYYY-MM-DD`, UTC, inclusive). An empty
    `end_date` is `today`, an empty `start_date` the first day of `end_date`'s month.

    Raises InvalidRequest for a malformed date, a start after the end, or a period longer
    than MAX_PERIOD_DAYS days.
    """
    last = _day("end_date", end_date) if end_date.strip() else today
    first = _day("start_date", start_date) if start_date.strip() else last.replace(day=1)
    if first > last:
        raise InvalidRequest("start_date", "start_date must not be after end_date")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidRequest(
            "end_date", f"the period is longer than {MAX_PERIOD_DAYS} days; ask for less"
        )
    return first, last


def usage_report(
    ledger: UsageLedger | None, *, owner: str, start_date: str, end_date: str, now: datetime
) -> UsageReport:
    """Returns the owner's usage report for the period (see `period`); empty without a
    ledger. Raises InvalidRequest, StorageUnavailable."""
    first, last = period(start_date, end_date, today=now.date())
    if ledger is None:
        return UsageReport(first, last)
    records = ledger.records(owner=owner, first_day=first, last_day=last)
    by_day: dict[date, list[UsageRecord]] = {}
    for record in records:
        by_day.setdefault(record.at.date(), []).append(record)
    days = tuple(
        DayUsage(day, _sum(listed), _by_model(listed)) for day, listed in sorted(by_day.items())
    )
    return UsageReport(first, last, _sum(records), days, _by_model(records))


def _day(argument: str, text: str) -> date:
    try:
        if len(text.strip()) != 10:
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest(argument, f"{argument} must be a date as YYYY-MM-DD") from None


def _sum(records: Iterable[UsageRecord]) -> UsageSum:
    listed = list(records)
    turns = {r.turn_id or f"call:{i}" for i, r in enumerate(listed)}
    cached = {r.turn_id for r in listed if r.call.cached and r.call.operation == "reply"}
    return UsageSum(
        input_tokens=sum(r.call.input_tokens for r in listed),
        output_tokens=sum(r.call.output_tokens for r in listed),
        cost_usd=sum(r.call.cost_usd for r in listed),
        calls=sum(not r.call.cached for r in listed),
        turns=len(turns),
        cached_turns=len(cached),
    )


def _by_model(records: Iterable[UsageRecord]) -> tuple[ModelUsage, ...]:
    groups: dict[tuple[str, str], list[UsageRecord]] = {}
    for record in records:
        groups.setdefault((record.call.provider, record.call.model), []).append(record)
    models = [ModelUsage(p, m, _sum(listed)) for (p, m), listed in groups.items()]
    return tuple(sorted(models, key=lambda u: (-u.usage.cost_usd, u.provider, u.model)))
