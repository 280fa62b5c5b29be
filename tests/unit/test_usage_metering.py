"""Metering: every call's tokens (the provider's, else counted), cost from the price table,
latency and ledger record; the usage report's period rules and sums."""

from __future__ import annotations

import contextvars
from datetime import UTC, date, datetime

import pytest

from chat_service.core.errors import InvalidRequest
from chat_service.core.metering import MeteredChatModel, Metering, UsageRecorder
from chat_service.core.prices import Price, PriceTable
from chat_service.core.usage import ModelCall, UsageRecord, UsageTotals
from chat_service.core.usage_report import MAX_PERIOD_DAYS, period, usage_report
from chat_service.observability.attribution import bind_attribution, bind_turn, llm_operation
from chat_service.ports.chat_model import ChatMessage, Completion, PromptRole, Usage
from tests.fakes.assistant_kit import counter
from tests.fakes.memory_usage_ledger import InMemoryUsageLedger
from tests.fakes.scripted_model import ScriptedChatModel

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
PROMPT = [ChatMessage(PromptRole.USER, "hello there")]


def metered(model, ledger=None, prices=None):
    metering = Metering(prices=prices or PriceTable({"gpt-x": Price(1.0, 2.0)}), counter=counter())
    times = iter([10.0, 10.25])
    recorder = UsageRecorder(ledger, clock=lambda: NOW) if ledger is not None else None
    return MeteredChatModel(model, metering=metering, recorder=recorder, timer=lambda: next(times))


def in_turn(function, *, owner="alice", key_id="k1", turn_id="t1"):
    def run():
        bind_attribution(owner=owner)
        bind_turn(turn_id=turn_id, key_id=key_id)
        return function()

    return contextvars.copy_context().run(run)


def test_a_call_carries_the_providers_tokens_its_price_and_its_latency():
    model = ScriptedChatModel(
        Completion("hi", usage=Usage(1_000, 500), model="gpt-x-2026", provider="openai"),
        name="openai:gpt-x",
    )
    completion = metered(model).complete(PROMPT)
    assert completion.usage == Usage(1_000, 500)
    # 1000 input tokens at 1 USD/M and 500 output at 2 USD/M; a dated name is its family's.
    assert completion.cost_usd == pytest.approx(0.002)
    assert completion.latency_s == pytest.approx(0.25)
    assert ModelCall.of(completion, "reply") == ModelCall(
        "reply", "openai", "gpt-x-2026", 1_000, 500, completion.cost_usd, 250
    )


def test_without_the_providers_usage_the_tokens_are_counted():
    model = ScriptedChatModel(Completion("two words", model="gpt-x"), name="openai:gpt-x")
    completion = metered(model).complete(PROMPT)
    tokens = counter()
    assert completion.usage == Usage(tokens.messages(PROMPT), tokens.text("two words"))
    assert completion.provider == "openai"
    assert completion.cost_usd > 0


def test_an_unpriced_model_costs_nothing():
    model = ScriptedChatModel(Completion("x", usage=Usage(10, 10), model="mystery"), name="m")
    assert metered(model).complete(PROMPT).cost_usd == 0.0


def test_each_call_of_a_turn_is_recorded_for_its_owner_key_and_turn():
    ledger = InMemoryUsageLedger()
    model = ScriptedChatModel(Completion("x", usage=Usage(10, 20), model="gpt-x"), name="o:gpt-x")
    chat_model = metered(model, ledger)

    def call():
        with llm_operation("title"):
            return chat_model.complete(PROMPT)

    in_turn(call)
    [record] = ledger.entries.values()
    assert (record.owner, record.key_id, record.turn_id, record.at) == ("alice", "k1", "t1", NOW)
    assert (record.call.operation, record.call.input_tokens, record.call.output_tokens) == (
        "title",
        10,
        20,
    )
    assert not record.pending


def test_a_call_outside_a_turn_or_a_failed_call_records_nothing():
    ledger = InMemoryUsageLedger()
    outside = metered(ScriptedChatModel("x"), ledger)
    contextvars.Context().run(outside.complete, PROMPT)  # a context no turn has bound
    failing = metered(ScriptedChatModel(RuntimeError("down")), ledger)
    with pytest.raises(RuntimeError):
        in_turn(lambda: failing.complete(PROMPT))
    assert ledger.entries == {}


def test_a_cached_call_is_free_and_keeps_its_model():
    call = ModelCall("reply", "openai", "gpt-x", 10, 20, 0.5, 300)
    assert call.as_cached() == ModelCall("reply", "openai", "gpt-x", 0, 0, 0.0, 0, cached=True)
    assert ModelCall.from_json(call.to_json()) == call


def test_totals_sum_the_calls_and_name_the_last_model():
    calls = [
        ModelCall("reply", "openai", "a", 1, 2, 0.1, 5),
        ModelCall("title", "x", "b", 3, 4, 0.2, 6),
    ]
    totals = UsageTotals.of(calls)
    assert (totals.provider, totals.model, totals.input_tokens, totals.output_tokens) == (
        "x",
        "b",
        4,
        6,
    )
    assert totals.cost_usd == pytest.approx(0.3)
    assert (totals.latency_ms, totals.cached) == (11, False)
    assert UsageTotals.of([]) == UsageTotals()


@pytest.mark.parametrize(
    ("start", "end", "argument"),
    [
        ("2026-13-01", "", "start_date"),
        ("", "yesterday", "end_date"),
        ("2026-1-1", "2026-01-02", "start_date"),
        ("2026-12-02", "2026-12-01", "start_date"),
        ("2025-01-01", "2026-12-01", "end_date"),
    ],
)
def test_a_bad_period_is_invalid_argument(start, end, argument):
    with pytest.raises(InvalidRequest) as error:
        period(start, end, today=NOW.date())
    assert error.value.argument == argument


def test_a_period_defaults_to_this_month_and_may_span_a_year():
    assert period("", "", today=date(2026, 12, 3)) == (date(2026, 12, 1), date(2026, 12, 3))
    assert period("", "2026-02-10", today=NOW.date()) == (date(2026, 2, 1), date(2026, 2, 10))
    first, last = period("2026-01-01", "", today=date(2027, 1, 1))
    assert (last - first).days + 1 == MAX_PERIOD_DAYS


def test_the_report_sums_by_day_and_model_and_counts_turns():
    ledger = InMemoryUsageLedger()
    day1, day2 = datetime(2026, 12, 1, 23, tzinfo=UTC), datetime(2026, 12, 2, 1, tzinfo=UTC)

    def add(at, turn, model, cost, *, operation="reply", cached=False, owner="alice"):
        call = ModelCall(operation, "openai", model, 10, 5, cost, 1, cached)
        ledger.add(UsageRecord(owner, "", turn, at, call))

    add(day1, "t1", "a", 0.5)
    add(day1, "t1", "a", 0.25, operation="title")
    add(day2, "t2", "b", 1.0)
    add(day2, "t3", "a", 0.0, cached=True)
    add(day2, "t9", "a", 9.0, owner="bob")
    report = usage_report(ledger, owner="alice", start_date="2026-12-01", end_date="", now=NOW)
    assert (report.first_day, report.last_day) == (date(2026, 12, 1), date(2026, 12, 3))
    assert report.total.cost_usd == pytest.approx(1.75)
    assert (report.total.turns, report.total.cached_turns, report.total.calls) == (3, 1, 3)
    assert [(d.day.day, d.usage.turns, d.usage.cost_usd) for d in report.days] == [
        (1, 1, 0.75),
        (2, 2, 1.0),
    ]
    assert [(m.model, m.usage.turns) for m in report.models] == [("b", 1), ("a", 2)]
    assert [m.model for m in report.days[1].models] == ["b", "a"]


def test_prices_come_from_a_yaml_or_json_file_then_the_setting():
    table = PriceTable.load(
        file_text="my-model:\n  input: 1\n  output: 2\ngpt-4o-mini: {input: 9, output: 9}\n",
        prices_json='{"gpt-4o-mini": {"input": 0.5, "output": 0.5}}',
    )
    assert table.price_of("my-model") == Price(1.0, 2.0)
    assert table.price_of("gpt-4o-mini") == Price(0.5, 0.5)
    assert table.price_of("gpt-4o") == Price(2.50, 10.00)  # the built-in table still applies
    assert table.highest(["my-model", "gpt-4o-mini", "nothing"]) == Price(1.0, 2.0)
    with pytest.raises(ValueError, match="non-negative"):
        PriceTable.load(file_text="m: {input: -1, output: 0}")
    with pytest.raises(ValueError, match="not JSON or YAML"):
        PriceTable.load(file_text="a: [")


def test_settings_read_the_price_file_and_name_what_is_wrong(tmp_path):
    from chat_service.config import Settings, SettingsError

    prices = tmp_path / "prices.yaml"
    prices.write_text("my-model: {input: 1, output: 2}\n", encoding="utf-8")
    table = Settings(llm_prices_file=str(prices)).price_table()
    assert table.price_of("my-model") == Price(1.0, 2.0)
    prices.write_text("my-model: {input: free}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="LLM_PRICES_FILE"):
        Settings.from_env({"LLM_PRICES_FILE": str(prices)})
    with pytest.raises(SettingsError, match="LLM_PRICES_FILE: cannot read it"):
        Settings.from_env({"LLM_PRICES_FILE": str(tmp_path / "missing.json")})
    with pytest.raises(SettingsError, match="BUDGET_CACHE_S"):
        Settings.from_env({"BUDGET_CACHE_S": "-1"})
