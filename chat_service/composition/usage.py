"""Builds the usage ledger (MongoDB), its recorder and the budget gate (MongoDB budgets, Redis
spend counters)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.database import Database

from chat_service.adapters.mongo.budgets import MongoBudgetStore
from chat_service.adapters.mongo.usage_ledger import MongoUsageLedger
from chat_service.adapters.redis.client import SyncRedis
from chat_service.adapters.redis.spend_counters import RedisSpendCounters
from chat_service.core.availability import RedisAvailability
from chat_service.core.budgets import BudgetBook, BudgetGate
from chat_service.core.metering import UsageRecorder


@dataclass(frozen=True, slots=True)
class UsageParts:
    """The ledger (GetUsage reads it), the recorder (model calls and cached answers write to
    it) and the budget gate (the model wrapper and the chat use cases ask it)."""

    ledger: MongoUsageLedger
    recorder: UsageRecorder
    budgets: BudgetGate


def build_usage(
    *,
    database: Database[dict[str, Any]],
    redis: SyncRedis,
    availability: RedisAvailability,
    budget_cache_s: float,
    clock: Callable[[], datetime],
) -> UsageParts:
    """Returns the usage parts; budgets are read at most once per `budget_cache_s` per
    owner and key, and checked in Redis (fail closed for budgeted owners while it is down)."""
    ledger = MongoUsageLedger(database)
    gate = BudgetGate(
        BudgetBook(MongoBudgetStore(database), ttl_s=budget_cache_s),
        RedisSpendCounters(redis, availability=availability),
        ledger,
        clock=clock,
    )
    return UsageParts(ledger, UsageRecorder(ledger, clock=clock), gate)
