"""InMemorySpendCounters and InMemoryBudgetStore: fakes of the budget ports, with the Redis and
Mongo adapters' semantics (checked by tests/integration/test_budgets_stores.py)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime

from chat_service.core.errors import BudgetUnavailable
from chat_service.ports.budgets import (
    Budget,
    BudgetScope,
    Missing,
    Refused,
    Reserved,
    SpendCounter,
)


class InMemorySpendCounters:
    """Counters in a dict behind one lock; `down = True` makes every call BudgetUnavailable,
    `flush()` forgets them all (a Redis FLUSHALL)."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.down = False
        self._lock = threading.Lock()

    def flush(self) -> None:
        with self._lock:
            self.values.clear()

    def reserve(
        self,
        counters: Sequence[SpendCounter],
        amount_nano: int,
        initial_nano: Mapping[int, int],
    ) -> Reserved | Refused | Missing:
        with self._lock:
            self._check()
            missing = tuple(
                i
                for i, c in enumerate(counters)
                if c.key not in self.values and i not in initial_nano
            )
            if missing:
                return Missing(missing)
            spent = [self.values.get(c.key, initial_nano.get(i, 0)) for i, c in enumerate(counters)]
            for index, counter in enumerate(counters):
                if (
                    spent[index] >= counter.limit_nano
                    or spent[index] + amount_nano > counter.limit_nano
                ):
                    return Refused(index, spent[index])
            for index, counter in enumerate(counters):
                self.values[counter.key] = spent[index] + amount_nano
            return Reserved()

    def adjust(self, keys: Sequence[str], delta_nano: int) -> None:
        with self._lock:
            self._check()
            for key in keys:
                if key in self.values:
                    self.values[key] += delta_nano

    def _check(self) -> None:
        if self.down:
            raise BudgetUnavailable("budgets cannot be checked now (Redis is down); retry later")


class InMemoryBudgetStore:
    """Budgets in a dict keyed by (scope, subject); counts reads."""

    def __init__(self, *budgets: Budget) -> None:
        self.budgets = {(b.scope, b.subject): b for b in budgets}
        self.reads = 0

    def budgets_for(self, *, owner: str, key_id: str) -> list[Budget]:
        self.reads += 1
        found = [self.budgets.get((BudgetScope.OWNER, owner))]
        if key_id:
            found.append(self.budgets.get((BudgetScope.KEY, key_id)))
        return [b for b in found if b is not None and b.owner == owner]

    def put(self, budget: Budget, *, now: datetime) -> Budget:
        self.budgets[(budget.scope, budget.subject)] = budget
        return budget

    def remove(self, scope: BudgetScope, subject: str) -> bool:
        return self.budgets.pop((scope, subject), None) is not None

    def list_budgets(self, *, owner: str | None = None) -> list[Budget]:
        found = [b for b in self.budgets.values() if owner is None or b.owner == owner]
        return sorted(found, key=lambda b: (b.owner, b.scope is BudgetScope.KEY, b.key_id))
