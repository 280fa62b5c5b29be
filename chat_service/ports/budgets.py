"""The budget ports: the budgets themselves (MongoDB, the truth) and the running spend counters
(Redis, shared by every worker), with the records that cross them."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class BudgetScope(enum.Enum):
    """Whom a budget limits: an owner (all its keys together) or one API key."""

    OWNER = "owner"
    KEY = "key"


@dataclass(frozen=True, slots=True)
class Budget:
    """USD an owner, or one API key of `owner` (`key_id`), may spend per UTC day and per UTC
    month; None is no limit for that period, 0 blocks every model call."""

    scope: BudgetScope
    owner: str
    key_id: str = ""
    daily_usd: float | None = None
    monthly_usd: float | None = None
    updated_at: datetime | None = None

    @property
    def subject(self) -> str:
        """Returns the owner of an owner budget, the key id of a key budget."""
        return self.owner if self.scope is BudgetScope.OWNER else self.key_id


class BudgetStore(Protocol):
    """Budgets by owner and by key. Every method raises StorageUnavailable when the store is down."""

    def budgets_for(self, *, owner: str, key_id: str) -> list[Budget]:
        """Returns the owner's budget and the budget of its key `key_id`, those that exist."""
        ...

    def put(self, budget: Budget, *, now: datetime) -> Budget:
        """Stores `budget`, replacing the one of the same scope and subject; returns it."""
        ...

    def remove(self, scope: BudgetScope, subject: str) -> bool:
        """Removes the budget of the owner or key `subject`; returns whether there was one."""
        ...

    def list_budgets(self, *, owner: str | None = None) -> list[Budget]:
        """Returns the budgets (of `owner`: its own and its keys'), by owner then key."""
        ...


@dataclass(frozen=True, slots=True)
class SpendCounter:
    """One running total in nano-USD (1e-9 USD): its key, its budget's limit, and how long it
    lives once made (past its period's end)."""

    key: str
    limit_nano: int
    ttl_s: int


@dataclass(frozen=True, slots=True)
class Reserved:
    """The amount was added to every counter."""


@dataclass(frozen=True, slots=True)
class Refused:
    """Counter `index` (0-based) holds `spent_nano`: the amount would exceed its limit (or it is
    spent already). Nothing was added."""

    index: int
    spent_nano: int


@dataclass(frozen=True, slots=True)
class Missing:
    """The counters at these indexes do not exist (a new period, or Redis lost them): the
    caller passes their totals from the ledger and asks again. Nothing was added."""

    indexes: tuple[int, ...]


class SpendCounters(Protocol):
    """Running spend per budget period, shared by all workers. Each method is one atomic step;
    they raise BudgetUnavailable when the counters cannot be reached."""

    def reserve(
        self,
        counters: Sequence[SpendCounter],
        amount_nano: int,
        initial_nano: Mapping[int, int],
    ) -> Reserved | Refused | Missing:
        """Adds `amount_nano` to every counter, unless one would pass its limit (or has
        reached it). A missing counter starts at `initial_nano[index]`; without one there,
        the answer is Missing."""
        ...

    def adjust(self, keys: Sequence[str], delta_nano: int) -> None:
        """Adds `delta_nano` (negative: gives back) to the counters that exist; the missing
        ones are rebuilt from the ledger when next reserved."""
        ...
