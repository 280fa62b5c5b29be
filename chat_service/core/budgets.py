"""Budgets per owner and per API key, daily and monthly, in USD, enforced before every model call.

Before a call its worst case is reserved on every budget that applies (the prompt's tokens
at the input price plus `max_tokens` at the output price) in shared counters, atomically: a
call that would pass a limit is not made. Afterwards the reservation is settled to the
actual cost, or given back when the call failed. The usage ledger is the truth: a reservation
is written there first (as a pending record), so counters lost with Redis are rebuilt from it,
in-flight reservations included, never restarted at zero. No budget set: no check at all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from chat_service.core.errors import BudgetExceeded, BudgetUnavailable
from chat_service.core.prices import Price
from chat_service.core.usage import UsageRecord
from chat_service.ports.budgets import (
    Budget,
    BudgetScope,
    BudgetStore,
    Missing,
    Refused,
    SpendCounter,
    SpendCounters,
)
from chat_service.ports.usage_ledger import UsageLedger

logger = logging.getLogger(__name__)

NANO_PER_USD = 1_000_000_000
_DAY_TTL_S = 2 * 86_400  # a counter outlives its period; a later one is rebuilt if needed
_MONTH_TTL_S = 32 * 86_400


def to_nano(usd: float) -> int:
    """Returns `usd` in whole nano-USD (the counters' unit), rounded up: never under-reserve."""
    nano = usd * NANO_PER_USD
    whole = int(nano)
    return whole + 1 if nano - whole > 1e-6 else whole


def worst_case_usd(prompt_tokens: int, max_tokens: int, price: Price) -> float:
    """Returns the most a call can cost: its prompt, and `max_tokens` of answer."""
    return price.cost(prompt_tokens, max_tokens)


@dataclass(frozen=True, slots=True)
class Period:
    """A budget period containing `now`: its days (inclusive), when it resets, its name."""

    name: str  # "daily" | "monthly"
    first_day: date
    last_day: date
    resets_at: datetime
    label: str  # "2026-12-03" | "2026-12"


def periods(now: datetime) -> tuple[Period, Period]:
    """Returns the UTC day and the UTC month that contain `now`."""
    today = now.astimezone(UTC).date()
    tomorrow = today + timedelta(days=1)
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return (
        Period("daily", today, today, _midnight(tomorrow), today.isoformat()),
        Period(
            "monthly",
            first,
            next_month - timedelta(days=1),
            _midnight(next_month),
            first.isoformat()[:7],
        ),
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Limit:
    """One budget period that applies to a call: the budget, the period, the limit."""

    budget: Budget
    period: Period
    limit_usd: float

    def counter(self) -> SpendCounter:
        """Returns the shared counter of this budget and period.

        Every counter of one owner shares the hash tag `{budget:<owner>}` (key budgets
        included), so one script can check and reserve them all on Redis Cluster too.
        """
        budget = self.budget
        subject = "owner" if budget.scope is BudgetScope.OWNER else f"key:{budget.key_id}"
        kind = "d" if self.period.name == "daily" else "m"
        return SpendCounter(
            key=f"{{budget:{budget.owner}}}:{subject}:{kind}:{self.period.label}",
            limit_nano=to_nano(self.limit_usd),
            ttl_s=_DAY_TTL_S if kind == "d" else _MONTH_TTL_S,
        )


def limits(budgets: Sequence[Budget], now: datetime) -> list[Limit]:
    """Returns the periods of `budgets` that have a limit, owner's first, daily first."""
    day, month = periods(now)
    found: list[Limit] = []
    for budget in sorted(budgets, key=lambda b: b.scope is not BudgetScope.OWNER):
        if budget.daily_usd is not None:
            found.append(Limit(budget, day, budget.daily_usd))
        if budget.monthly_usd is not None:
            found.append(Limit(budget, month, budget.monthly_usd))
    return found


class BudgetBook:
    """The budgets of an owner and key, read from the store at most once per `ttl_s`."""

    def __init__(
        self,
        store: BudgetStore,
        *,
        ttl_s: float,
        monotonic: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, tuple[Budget, ...]]] = {}

    def budgets_for(self, owner: str, key_id: str) -> tuple[Budget, ...]:
        """Returns the budgets that apply; raises StorageUnavailable."""
        now = self._monotonic()
        with self._lock:
            entry = self._entries.get((owner, key_id))
        if entry is not None and now - entry[0] < self._ttl_s:
            return entry[1]
        budgets = tuple(self._store.budgets_for(owner=owner, key_id=key_id))
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[(owner, key_id)] = (now, budgets)
        return budgets


@dataclass(frozen=True, slots=True)
class Hold:
    """A reservation: the counters it was added to, the amount, its pending ledger record."""

    keys: tuple[str, ...]
    amount_nano: int
    record_id: str
    entry: UsageRecord


class BudgetGate:
    """Reserves, settles and gives back model calls' costs against the budgets that apply."""

    def __init__(
        self,
        book: BudgetBook,
        counters: SpendCounters,
        ledger: UsageLedger,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._book = book
        self._counters = counters
        self._ledger = ledger
        self._clock = clock

    def applies(self, owner: str, key_id: str) -> bool:
        """Returns whether the owner or the key has a budget. Raises StorageUnavailable."""
        return any(
            b.daily_usd is not None or b.monthly_usd is not None
            for b in self._book.budgets_for(owner, key_id)
        )

    def admit(self, owner: str, key_id: str) -> bool:
        """Refuses a turn up front when a budget of its owner or key is spent already (or is
        0); returns whether a budget applies. Raises BudgetExceeded, BudgetUnavailable,
        StorageUnavailable."""
        found = limits(self._book.budgets_for(owner, key_id), self._clock())
        if found:
            self._reserve(found, 0, owner)
        return bool(found)

    def reserve(self, entry: UsageRecord) -> Hold | None:
        """Reserves `entry.call.cost_usd` (the call's worst case) on every budget of the
        entry's owner and key, after recording the entry as pending in the ledger; None when
        no budget applies (nothing is reserved or recorded).

        Raises BudgetExceeded (the pending record is removed again), BudgetUnavailable,
        StorageUnavailable.
        """
        found = limits(self._book.budgets_for(entry.owner, entry.key_id), entry.at)
        if not found:
            return None
        amount = to_nano(entry.call.cost_usd)
        record_id = self._ledger.add(replace(entry, pending=True))
        try:
            keys = self._reserve(found, amount, entry.owner, recorded=True)
        except BaseException:
            self._ledger.discard(record_id, owner=entry.owner)
            raise
        return Hold(keys, amount, record_id, entry)

    def settle(self, hold: Hold, final: UsageRecord) -> None:
        """Replaces the reservation by the call's actual cost: counters first, then the
        ledger (a rebuild in between counts the worst case: too much, never too little)."""
        self._adjust(hold.keys, to_nano(final.call.cost_usd) - hold.amount_nano)
        self._ledger.settle(hold.record_id, replace(final, pending=False))

    def release(self, hold: Hold) -> None:
        """Gives a failed call's reservation back. Raises StorageUnavailable."""
        self._adjust(hold.keys, -hold.amount_nano)
        self._ledger.discard(hold.record_id, owner=hold.entry.owner)

    def _reserve(
        self, found: list[Limit], amount: int, owner: str, *, recorded: bool = False
    ) -> tuple[str, ...]:
        counters = [limit.counter() for limit in found]
        initial: dict[int, int] = {}
        # The ledger already holds this reservation (pending): a rebuilt counter starts
        # without it, since the script adds it.
        own = amount if recorded else 0
        for _ in range(3):
            outcome = self._counters.reserve(counters, amount, initial)
            if isinstance(outcome, Missing):
                for index in outcome.indexes:
                    initial[index] = max(0, self._ledger_total(found[index], owner) - own)
                continue
            if isinstance(outcome, Refused):
                limit = found[outcome.index]
                raise BudgetExceeded(
                    budget=limit.budget.scope.value,
                    period=limit.period.name,
                    limit_usd=limit.limit_usd,
                    spent_usd=outcome.spent_nano / NANO_PER_USD,
                    resets_at=limit.period.resets_at,
                )
            return tuple(c.key for c in counters)
        raise BudgetUnavailable("the budget counters could not be rebuilt; retry later")

    def _ledger_total(self, limit: Limit, owner: str) -> int:
        key_id = limit.budget.key_id if limit.budget.scope is BudgetScope.KEY else ""
        spent = self._ledger.spent_usd(
            owner=owner,
            key_id=key_id,
            first_day=limit.period.first_day,
            last_day=limit.period.last_day,
        )
        return to_nano(spent)

    def _adjust(self, keys: Sequence[str], delta: int) -> None:
        if not delta:
            return
        try:
            self._counters.adjust(keys, delta)
        except BudgetUnavailable:
            # The ledger stays right; the counter is off until it is rebuilt from it.
            logger.warning("a budget counter could not be settled", exc_info=True)
