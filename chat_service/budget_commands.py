"""`python -m chat_service.keys budget set|show|clear`: budgets per owner and per API key.

A budget is USD per UTC day (`--daily`) and per UTC month (`--monthly`); a period left out
is unlimited, 0 blocks. Workers read budgets at most BUDGET_CACHE_S (default 5 s) late.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from chat_service.core.api_keys import key_digest, key_id
from chat_service.ports.api_keys import ApiKeyStore
from chat_service.ports.budgets import Budget, BudgetScope, BudgetStore

BudgetCommand = Callable[[BudgetStore, ApiKeyStore, argparse.Namespace, datetime], int]


def add_budget_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `budget` with its subcommands `set`, `show` and `clear` to the keys CLI."""
    budget = commands.add_parser("budget", help="set, show or clear USD budgets")
    actions = budget.add_subparsers(required=True, metavar="ACTION")
    put = actions.add_parser("set", help="set an owner's or a key's daily and monthly budget")
    _whom(put, required=True)
    put.add_argument("--daily", type=_usd, help="USD per UTC day (0 blocks)")
    put.add_argument("--monthly", type=_usd, help="USD per UTC month (0 blocks)")
    put.set_defaults(budget_run=set_budget)
    show = actions.add_parser("show", help="list budgets (all, an owner's, or a key's)")
    _whom(show, required=False)
    show.set_defaults(budget_run=show_budgets)
    clear = actions.add_parser("clear", help="remove an owner's or a key's budget")
    _whom(clear, required=True)
    clear.add_argument("--daily", action="store_true", help="remove only the daily limit")
    clear.add_argument("--monthly", action="store_true", help="remove only the monthly limit")
    clear.set_defaults(budget_run=clear_budget)


def set_budget(
    budgets: BudgetStore, keys: ApiKeyStore, args: argparse.Namespace, now: datetime
) -> int:
    """Sets the given periods of the owner's or key's budget, keeping the others as they are."""
    if args.daily is None and args.monthly is None:
        print("error: give --daily and/or --monthly (USD)", file=sys.stderr)
        return 2
    current = _current(budgets, keys, args)
    if current is None:
        return 1
    budget = replace(
        current,
        daily_usd=current.daily_usd if args.daily is None else args.daily,
        monthly_usd=current.monthly_usd if args.monthly is None else args.monthly,
    )
    print(_line(budgets.put(budget, now=now)))
    return 0


def show_budgets(
    budgets: BudgetStore, keys: ApiKeyStore, args: argparse.Namespace, now: datetime
) -> int:
    """Prints one line per budget: scope, owner, key, daily and monthly limits."""
    if args.key:
        current = _current(budgets, keys, args)
        if current is None:
            return 1
        listed = [
            b for b in budgets.list_budgets(owner=current.owner) if b.key_id == current.key_id
        ]
    else:
        listed = budgets.list_budgets(owner=args.owner)
    print(f"{'SCOPE':<7}{'OWNER':<20}{'KEY ID':<14}{'DAILY USD':<12}MONTHLY USD")
    for budget in listed:
        print(_line(budget))
    return 0


def clear_budget(
    budgets: BudgetStore, keys: ApiKeyStore, args: argparse.Namespace, now: datetime
) -> int:
    """Removes the budget (or only one of its periods); the owner or key is then unlimited."""
    current = _current(budgets, keys, args)
    if current is None:
        return 1
    if args.daily != args.monthly:  # exactly one of them
        kept = replace(
            current,
            daily_usd=None if args.daily else current.daily_usd,
            monthly_usd=None if args.monthly else current.monthly_usd,
        )
        print(_line(budgets.put(kept, now=now)))
        return 0
    removed = budgets.remove(current.scope, current.subject)
    who = "key " + current.key_id if current.scope is BudgetScope.KEY else repr(current.owner)
    print(f"cleared the budget of {who}" if removed else f"{who} had no budget")
    return 0


def _whom(parser: argparse.ArgumentParser, *, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--owner", help="the owner (all its keys together)")
    group.add_argument("--key", help="one API key, by the id `list` shows (or the key itself)")


def _current(budgets: BudgetStore, keys: ApiKeyStore, args: argparse.Namespace) -> Budget | None:
    """Returns the stored budget of the owner or key named by `args` (empty if none yet); None,
    after saying why, when the key is unknown or the owner blank."""
    if args.key:
        wanted = args.key.strip()
        if wanted.startswith("acai_"):
            wanted = key_id(key_digest(wanted))
        record = next((k for k in keys.list_keys() if k.key_id == wanted), None)
        if record is None:
            print(f"error: no key with id {wanted!r}", file=sys.stderr)
            return None
        stored = budgets.budgets_for(owner=record.owner, key_id=record.key_id)
        found = [b for b in stored if b.scope is BudgetScope.KEY]
        return found[0] if found else Budget(BudgetScope.KEY, record.owner, record.key_id)
    owner = (args.owner or "").strip()
    if not owner:
        print("error: --owner must not be blank", file=sys.stderr)
        return None
    stored = budgets.budgets_for(owner=owner, key_id="")
    return stored[0] if stored else Budget(BudgetScope.OWNER, owner)


def _line(budget: Budget) -> str:
    def usd(value: float | None) -> str:
        return "unlimited" if value is None else f"{value:g}"

    return (
        f"{budget.scope.value:<7}{budget.owner:<20}{budget.key_id or '-':<14}"
        f"{usd(budget.daily_usd):<12}{usd(budget.monthly_usd)}"
    )


def _usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of USD: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("a budget is a non-negative number of USD")
    return value
