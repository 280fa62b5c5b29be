"""Budgets: the reservation arithmetic (worst case, nano-USD, periods), the gate's reserve,
settle and give-back, refusals, rebuilding lost counters from the ledger, and the model
wrapper that reserves before each call."""

from __future__ import annotations

import contextvars
from datetime import UTC, date, datetime

import pytest

from chat_service.core.budgets import (
    NANO_PER_USD,
    BudgetBook,
    BudgetGate,
    limits,
    periods,
    to_nano,
    worst_case_usd,
)
from chat_service.core.errors import BudgetExceeded, BudgetUnavailable, ModelUnavailable
from chat_service.core.metering import MeteredChatModel, Metering, UsageRecorder
from chat_service.core.prices import Price, PriceTable
from chat_service.core.usage import ModelCall, UsageRecord
from chat_service.observability.attribution import bind_attribution, bind_turn
from chat_service.ports.budgets import Budget, BudgetScope
from chat_service.ports.chat_model import ChatMessage, Completion, PromptRole, Usage
from tests.fakes.assistant_kit import counter
from tests.fakes.memory_spend_counters import InMemoryBudgetStore, InMemorySpendCounters
from tests.fakes.memory_usage_ledger import InMemoryUsageLedger
from tests.fakes.scripted_model import ScriptedChatModel

NOW = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
OWNER = Budget(BudgetScope.OWNER, "alice", daily_usd=1.0, monthly_usd=10.0)
KEY = Budget(BudgetScope.KEY, "alice", "k1", daily_usd=0.5)
PROMPT = [ChatMessage(PromptRole.USER, "hello")]


def entry(cost_usd: float, *, key_id: str = "k1", at: datetime = NOW) -> UsageRecord:
    return UsageRecord("alice", key_id, "t1", at, ModelCall("reply", "openai", "m", 0, 0, cost_usd))


def gate_for(*budgets: Budget, ledger=None, counters=None):
    ledger = ledger if ledger is not None else InMemoryUsageLedger()
    counters = counters if counters is not None else InMemorySpendCounters()
    book = BudgetBook(InMemoryBudgetStore(*budgets), ttl_s=0)
    return BudgetGate(book, counters, ledger, clock=lambda: NOW), ledger, counters


def test_the_worst_case_is_the_prompt_and_max_tokens_at_their_prices():
    price = Price(input_per_million=2.0, output_per_million=10.0)
    assert worst_case_usd(1_000, 500, price) == pytest.approx((1_000 * 2 + 500 * 10) / 1e6)
    assert to_nano(0.007) == 7_000_000
    assert to_nano(1e-10) == 1  # rounded up: a reservation is never too small
    assert to_nano(0) == 0
    assert to_nano(1.0) == NANO_PER_USD


def test_periods_are_the_utc_day_and_month_and_say_when_they_reset():
    day, month = periods(NOW)
    assert (day.first_day, day.last_day, day.label) == (date(2026, 12, 31),) * 2 + ("2026-12-31",)
    assert day.resets_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert (month.first_day, month.last_day, month.label) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
        "2026-12",
    )
    assert month.resets_at == datetime(2027, 1, 1, tzinfo=UTC)
    february = periods(datetime(2028, 2, 10, tzinfo=UTC))[1]
    assert february.last_day == date(2028, 2, 29)


def test_every_counter_of_an_owner_shares_one_hash_tag():
    found = limits([KEY, OWNER], NOW)
    assert [(f.budget.scope, f.period.name) for f in found] == [
        (BudgetScope.OWNER, "daily"),
        (BudgetScope.OWNER, "monthly"),
        (BudgetScope.KEY, "daily"),
    ]
    keys = [f.counter().key for f in found]
    assert keys == [
        "{budget:alice}:owner:d:2026-12-31",
        "{budget:alice}:owner:m:2026-12",
        "{budget:alice}:key:k1:d:2026-12-31",
    ]
    assert [f.counter().limit_nano for f in found] == [
        NANO_PER_USD,
        10 * NANO_PER_USD,
        NANO_PER_USD // 2,
    ]


def test_no_budget_means_no_check_and_nothing_recorded():
    gate, ledger, counters = gate_for()
    assert gate.reserve(entry(100.0)) is None
    gate.admit("alice", "k1")
    assert ledger.entries == {}
    assert counters.values == {}
    assert not gate.applies("alice", "k1")


def test_a_reservation_is_settled_to_the_actual_cost():
    gate, ledger, counters = gate_for(OWNER)
    hold = gate.reserve(entry(0.4))
    assert hold is not None
    assert set(counters.values.values()) == {to_nano(0.4)}
    assert [e.pending for e in ledger.entries.values()] == [True]
    gate.settle(hold, entry(0.1))
    assert set(counters.values.values()) == {to_nano(0.1)}
    [final] = ledger.entries.values()
    assert (final.pending, final.call.cost_usd) == (False, 0.1)


def test_a_failed_call_gives_its_reservation_back():
    gate, ledger, counters = gate_for(OWNER)
    hold = gate.reserve(entry(0.4))
    assert hold is not None
    gate.release(hold)
    assert set(counters.values.values()) == {0}
    assert ledger.entries == {}


def test_a_call_that_would_pass_a_limit_is_refused_naming_the_budget():
    gate, ledger, _counters = gate_for(OWNER, KEY)
    assert gate.reserve(entry(0.3)) is not None
    with pytest.raises(BudgetExceeded) as refused:
        gate.reserve(entry(0.3))  # 0.6 > the key's 0.5 a day
    error = refused.value
    assert (error.budget, error.period, error.limit_usd) == ("key", "daily", 0.5)
    assert error.spent_usd == pytest.approx(0.3)
    assert error.resets_at == datetime(2027, 1, 1, tzinfo=UTC)
    # Another key of the same owner still has the owner's budget left.
    assert gate.reserve(entry(0.6, key_id="k2")) is not None
    with pytest.raises(BudgetExceeded) as refused:
        gate.reserve(entry(0.2, key_id="k2"))
    assert (refused.value.budget, refused.value.period) == ("owner", "daily")
    assert len(ledger.entries) == 2  # refused reservations leave no record


def test_a_budget_of_zero_blocks_even_free_calls_and_a_spent_budget_refuses_the_turn():
    gate, _, _ = gate_for(Budget(BudgetScope.OWNER, "alice", daily_usd=0.0))
    with pytest.raises(BudgetExceeded):
        gate.admit("alice", "")
    with pytest.raises(BudgetExceeded):
        gate.reserve(entry(0.0))
    gate, _, _ = gate_for(OWNER)
    hold = gate.reserve(entry(1.0))  # exactly the daily limit: allowed
    assert hold is not None
    with pytest.raises(BudgetExceeded):
        gate.admit("alice", "k1")


def test_lost_counters_are_rebuilt_from_the_ledger_with_reservations_in_flight():
    gate, ledger, counters = gate_for(OWNER)
    ledger.add(entry(0.25, at=datetime(2026, 12, 31, 1, tzinfo=UTC)))  # earlier today
    ledger.add(entry(2.0, at=datetime(2026, 12, 5, tzinfo=UTC)))  # earlier this month
    in_flight = gate.reserve(entry(0.5))
    assert in_flight is not None
    counters.flush()
    assert gate.reserve(entry(0.2)) is not None
    day, month = limits([OWNER], NOW)
    assert counters.values[day.counter().key] == to_nano(0.25 + 0.5 + 0.2)
    assert counters.values[month.counter().key] == to_nano(2.25 + 0.5 + 0.2)
    with pytest.raises(BudgetExceeded):
        gate.reserve(entry(0.1))  # 0.95 + 0.1 > 1.0: the flush did not reset the day
    gate.settle(in_flight, entry(0.5))
    assert counters.values[day.counter().key] == to_nano(0.95)


def test_while_the_counters_are_down_a_budgeted_owner_is_refused_and_others_pass():
    gate, ledger, counters = gate_for(OWNER)
    counters.down = True
    with pytest.raises(BudgetUnavailable):
        gate.reserve(entry(0.1))
    assert ledger.entries == {}
    assert gate.reserve(replace_owner(entry(0.1), "bob")) is None  # bob has no budget


def replace_owner(record: UsageRecord, owner: str) -> UsageRecord:
    return UsageRecord(owner, record.key_id, record.turn_id, record.at, record.call)


def test_budgets_are_read_once_per_ttl():
    store = InMemoryBudgetStore(OWNER)
    ticks = iter([0.0, 1.0, 6.0])
    book = BudgetBook(store, ttl_s=5.0, monotonic=lambda: next(ticks))
    assert book.budgets_for("alice", "") == book.budgets_for("alice", "") == (OWNER,)
    assert store.reads == 1
    book.budgets_for("alice", "")
    assert store.reads == 2


def metered_model(model, gate, ledger):
    prices = PriceTable({"gpt-x": Price(1.0, 2.0)})
    recorder = UsageRecorder(ledger, clock=lambda: NOW)
    return MeteredChatModel(
        model, metering=Metering(prices=prices, counter=counter()), recorder=recorder, gate=gate
    )


def in_turn(function):
    def run():
        bind_attribution(owner="alice")
        bind_turn(turn_id="t1", key_id="k1")
        return function()

    return contextvars.copy_context().run(run)


def test_the_model_is_not_called_when_the_worst_case_does_not_fit():
    budget = Budget(BudgetScope.OWNER, "alice", daily_usd=0.001)
    gate, ledger, _counters = gate_for(budget)
    model = ScriptedChatModel(name="openai:gpt-x")
    chat_model = metered_model(model, gate, ledger)
    # 1000 output tokens at 2 USD per million is 0.002 USD: more than the budget.
    with pytest.raises(BudgetExceeded):
        in_turn(lambda: chat_model.complete(PROMPT, max_tokens=1_000))
    assert model.calls == []
    assert ledger.entries == {}


def test_the_model_call_is_settled_or_given_back():
    gate, ledger, counters = gate_for(OWNER)
    model = ScriptedChatModel(
        Completion("hi", usage=Usage(100, 10), model="gpt-x"),
        ModelUnavailable("down"),
        name="openai:gpt-x",
    )
    chat_model = metered_model(model, gate, ledger)
    in_turn(lambda: chat_model.complete(PROMPT, max_tokens=100))
    [record] = ledger.entries.values()
    actual = (100 * 1 + 10 * 2) / 1e6
    assert (record.pending, record.call.cost_usd) == (False, pytest.approx(actual))
    day = limits([OWNER], NOW)[0].counter().key
    assert counters.values[day] == to_nano(actual)
    with pytest.raises(ModelUnavailable):
        in_turn(lambda: chat_model.complete(PROMPT, max_tokens=100))
    assert counters.values[day] == to_nano(actual)
    assert len(ledger.entries) == 1
