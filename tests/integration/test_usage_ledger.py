"""The UsageLedger contract, run against the in-memory fake and MongoDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

import migrations
from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.usage_ledger import MongoUsageLedger
from chat_service.core.usage import ModelCall, UsageRecord
from tests.fakes.memory_usage_ledger import InMemoryUsageLedger

DEC_1 = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
DEC_2 = datetime(2026, 12, 2, 0, 1, tzinfo=UTC)
CALL = ModelCall("reply", "openai", "gpt-x", 100, 50, 0.25, 120)


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    db = client[mongo_database_name]
    migrations.apply_all(db)
    yield db
    client.close()


@pytest.fixture(params=["memory", "mongo"])
def ledger(request):
    if request.param == "memory":
        return InMemoryUsageLedger()
    return MongoUsageLedger(request.getfixturevalue("database"))


def record(at=DEC_1, *, owner="alice", key_id="k1", cost=0.25, pending=False):
    return UsageRecord(owner, key_id, "turn-1", at, replace(CALL, cost_usd=cost), pending)


def test_records_are_read_back_by_owner_and_utc_day(ledger):
    ledger.add(record())
    ledger.add(record(DEC_2))
    ledger.add(record(owner="bob"))
    assert ledger.records(
        owner="alice", first_day=date(2026, 12, 1), last_day=date(2026, 12, 1)
    ) == [record()]
    both = ledger.records(owner="alice", first_day=date(2026, 12, 1), last_day=date(2026, 12, 2))
    assert sorted(r.at for r in both) == [DEC_1, DEC_2]


def test_spent_counts_pending_reservations_and_can_be_narrowed_to_a_key(ledger):
    ledger.add(record(cost=1.0))
    ledger.add(record(key_id="k2", cost=2.0))
    pending = ledger.add(record(cost=4.0, pending=True))
    ledger.add(record(owner="bob", key_id="k1", cost=8.0))
    days = {"first_day": date(2026, 12, 1), "last_day": date(2026, 12, 31)}
    assert ledger.spent_usd(owner="alice", key_id="", **days) == pytest.approx(7.0)
    assert ledger.spent_usd(owner="alice", key_id="k1", **days) == pytest.approx(5.0)
    # A pending record is not usage yet: reports leave it out.
    assert len(ledger.records(owner="alice", **days)) == 2
    ledger.settle(pending, record(cost=0.5))
    assert ledger.spent_usd(owner="alice", key_id="k1", **days) == pytest.approx(1.5)
    assert len(ledger.records(owner="alice", **days)) == 3


def test_a_discarded_reservation_is_gone_but_a_final_record_stays(ledger):
    days = {"first_day": date(2026, 12, 1), "last_day": date(2026, 12, 1)}
    pending = ledger.add(record(pending=True))
    final = ledger.add(record())
    ledger.discard(pending, owner="alice")
    ledger.discard(final, owner="alice")  # only reservations are ever discarded
    assert ledger.spent_usd(owner="alice", key_id="", **days) == pytest.approx(0.25)
