"""MongoBudgetStore: the BudgetStore port over the `budgets` collection.

budgets: {_id: "owner:<owner>" | "key:<key id>", scope: "owner"|"key", owner, key_id,
          daily_usd: number|null, monthly_usd: number|null, updated_at}

The index on `owner` comes from `migrations/` (v0009).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.timestamps import to_stored
from chat_service.ports.budgets import Budget, BudgetScope

Document = dict[str, Any]
COLLECTION = "budgets"


def _id(scope: BudgetScope, subject: str) -> str:
    return f"{scope.value}:{subject}"


class MongoBudgetStore:
    """Budgets, one document per owner or key; a turn reads both of its in one query."""

    def __init__(self, database: Database[Document]) -> None:
        self._budgets = database[COLLECTION]

    def budgets_for(self, *, owner: str, key_id: str) -> list[Budget]:
        ids = [_id(BudgetScope.OWNER, owner)]
        if key_id:
            ids.append(_id(BudgetScope.KEY, key_id))
        with storage_errors():
            documents = list(self._budgets.find({"_id": {"$in": ids}}))
        # A key's budget counts only for the owner the key belongs to.
        return [_budget(d) for d in documents if d["owner"] == owner]

    def put(self, budget: Budget, *, now: datetime) -> Budget:
        document = {
            "scope": budget.scope.value,
            "owner": budget.owner,
            "key_id": budget.key_id,
            "daily_usd": budget.daily_usd,
            "monthly_usd": budget.monthly_usd,
            "updated_at": to_stored(now),
        }
        with storage_errors():
            self._budgets.replace_one(
                {"_id": _id(budget.scope, budget.subject)}, document, upsert=True
            )
        return _budget(document)

    def remove(self, scope: BudgetScope, subject: str) -> bool:
        with storage_errors():
            return self._budgets.delete_one({"_id": _id(scope, subject)}).deleted_count == 1

    def list_budgets(self, *, owner: str | None = None) -> list[Budget]:
        wanted = {} if owner is None else {"owner": owner}
        with storage_errors():
            documents = list(self._budgets.find(wanted))
        budgets = [_budget(d) for d in documents]
        return sorted(budgets, key=lambda b: (b.owner, b.scope is BudgetScope.KEY, b.key_id))


def _budget(document: Document) -> Budget:
    def usd(name: str) -> float | None:
        value = document.get(name)
        return None if value is None else float(value)

    return Budget(
        scope=BudgetScope(document["scope"]),
        owner=document["owner"],
        key_id=document.get("key_id", ""),
        daily_usd=usd("daily_usd"),
        monthly_usd=usd("monthly_usd"),
        updated_at=to_stored(document["updated_at"]) if document.get("updated_at") else None,
    )
