"""Budgets on the real servers: the Redis spend counters' scripts (atomic across threads, one
hash slot per owner, rebuilt after a flush), the MongoDB budget store, and the keys CLI."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from redis.crc import key_slot

import migrations
from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.adapters.mongo.budgets import MongoBudgetStore
from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.usage_ledger import MongoUsageLedger
from chat_service.adapters.redis.client import connect_redis
from chat_service.adapters.redis.spend_counters import RedisSpendCounters
from chat_service.core.availability import RedisAvailability
from chat_service.core.budgets import BudgetBook, BudgetGate, limits
from chat_service.core.errors import BudgetExceeded, BudgetUnavailable
from chat_service.core.usage import ModelCall, UsageRecord
from chat_service.keys import main
from chat_service.ports.budgets import Budget, BudgetScope, Missing, Refused, Reserved, SpendCounter
from tests.fakes.memory_spend_counters import InMemoryBudgetStore

NOW = datetime.now(UTC)


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    db = client[mongo_database_name]
    migrations.apply_all(db)
    yield db
    client.close()


@pytest.fixture
def client(any_redis_url):
    # On both a single server and the cluster: the scripts' keys must share one hash slot.
    connection = connect_redis(any_redis_url, timeout_s=5)
    yield connection
    connection.close()


@pytest.fixture
def counters(client):
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    yield RedisSpendCounters(client, availability=RedisAvailability(), prefix=prefix)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def counter(name: str, limit: int) -> SpendCounter:
    return SpendCounter(f"{{budget:alice}}:{name}", limit, 3600)


def test_reserve_refuse_missing_and_adjust(counters):
    day, month = counter("d", 100), counter("m", 1_000)
    assert counters.reserve([day, month], 10, {}) == Missing((0, 1))
    assert counters.reserve([day, month], 10, {0: 50, 1: 500}) == Reserved()
    assert counters.reserve([day, month], 40, {}) == Reserved()  # 100: exactly the limit
    assert counters.reserve([day, month], 1, {}) == Refused(0, 100)
    counters.adjust([day.key, month.key], -30)
    assert counters.reserve([day, month], 30, {}) == Reserved()
    assert counters.reserve([day, month], 0, {}) == Refused(0, 100)  # spent: even 0 is refused
    counters.adjust(["{budget:alice}:gone"], 5)  # a missing counter stays missing
    assert counters.reserve([counter("gone", 10)], 0, {}) == Missing((0,))


def test_a_new_counter_expires_after_its_period(counters, client):
    assert counters.reserve([counter("d", 100)], 1, {0: 0}) == Reserved()
    [key] = client.scan_iter(f"{counters._prefix}*")
    assert 3500 < client.ttl(key) <= 3600


def test_every_key_of_an_owner_is_in_one_cluster_slot():
    budgets = [
        Budget(BudgetScope.OWNER, "alice", daily_usd=1, monthly_usd=2),
        Budget(BudgetScope.KEY, "alice", "k1", daily_usd=1, monthly_usd=2),
    ]
    keys = ["acai:budget:v1:" + f.counter().key for f in limits(budgets, NOW)]
    assert len(keys) == 4
    assert len({key_slot(k.encode()) for k in keys}) == 1


def test_concurrent_reservations_never_pass_the_limit(counters):
    limit, amount = 1_000, 7
    admitted = []

    def worker() -> None:
        for _ in range(50):
            if counters.reserve([counter("d", limit)], amount, {0: 0}) == Reserved():
                admitted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == limit // amount


def test_a_down_redis_fails_closed(mongo_uri):
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    counters = RedisSpendCounters(down, availability=RedisAvailability())
    with pytest.raises(BudgetUnavailable):
        counters.reserve([counter("d", 10)], 1, {0: 0})
    with pytest.raises(BudgetUnavailable):  # at once, during the cool-down
        counters.adjust(["{budget:alice}:d"], 1)


def test_the_gate_on_real_servers_rebuilds_after_a_flush(database, counters, client):
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    ledger = MongoUsageLedger(database)
    book = BudgetBook(
        InMemoryBudgetStore(Budget(BudgetScope.OWNER, owner, daily_usd=1.0)), ttl_s=60
    )
    gate = BudgetGate(book, counters, ledger, clock=lambda: NOW)

    def entry(cost: float) -> UsageRecord:
        return UsageRecord(owner, "", "t", NOW, ModelCall("reply", "openai", "m", 1, 1, cost))

    settled = gate.reserve(entry(0.3))
    assert settled is not None
    gate.settle(settled, entry(0.2))
    in_flight = gate.reserve(entry(0.3))
    assert in_flight is not None
    for key in client.scan_iter(f"{counters._prefix}*"):
        client.delete(key)  # what a FLUSHALL does to these counters
    assert gate.reserve(entry(0.4)) is not None  # rebuilt: 0.2 + 0.3 in flight + 0.4
    with pytest.raises(BudgetExceeded) as refused:
        gate.reserve(entry(0.2))
    assert refused.value.spent_usd == pytest.approx(0.9)
    gate.release(in_flight)
    assert gate.reserve(entry(0.2)) is not None


@pytest.fixture(params=["memory", "mongo"])
def budget_store(request):
    if request.param == "memory":
        return InMemoryBudgetStore()
    return MongoBudgetStore(request.getfixturevalue("database"))


def test_the_budget_store_contract(budget_store):
    store = budget_store
    owner = Budget(BudgetScope.OWNER, "alice", daily_usd=5.0, monthly_usd=None)
    key = Budget(BudgetScope.KEY, "alice", "k1", monthly_usd=1.5)
    store.put(owner, now=NOW)
    store.put(key, now=NOW)
    store.put(Budget(BudgetScope.KEY, "bob", "k2", daily_usd=0.0), now=NOW)
    found = store.budgets_for(owner="alice", key_id="k1")
    assert sorted((b.scope.value, b.daily_usd, b.monthly_usd) for b in found) == [
        ("key", None, 1.5),
        ("owner", 5.0, None),
    ]
    assert store.budgets_for(owner="alice", key_id="k2") == [
        found[0] if found[0].scope is BudgetScope.OWNER else found[1]
    ]
    assert [b.key_id for b in store.list_budgets(owner="alice")] == ["", "k1"]
    assert store.remove(BudgetScope.KEY, "k1")
    assert not store.remove(BudgetScope.KEY, "k1")


def test_the_keys_cli_sets_shows_and_clears_budgets(database, mongo_uri, capsys):
    environ = {"MONGO_URI": mongo_uri, "MONGO_DATABASE": database.name}
    keys = MongoApiKeyStore(database)
    record = keys.add(digest="ab" * 32, owner="carol", name="cli", now=NOW - timedelta(days=1))

    def run(*argv: str) -> tuple[int, str]:
        status = main(["budget", *argv], environ=environ)
        captured = capsys.readouterr()
        return status, captured.out + captured.err

    assert run("set", "--owner", "carol", "--daily", "5", "--monthly", "50")[0] == 0
    assert run("set", "--owner", "carol", "--daily", "2")[0] == 0  # the monthly one stays
    assert run("set", "--key", record.key_id, "--daily", "1")[0] == 0
    status, shown = run("show", "--owner", "carol")
    assert status == 0
    lines = shown.splitlines()
    assert lines[1].split() == ["owner", "carol", "-", "2", "50"]
    assert lines[2].split() == ["key", "carol", record.key_id, "1", "unlimited"]
    assert run("set", "--key", "nosuchkey", "--daily", "1") == (
        1,
        "error: no key with id 'nosuchkey'\n",
    )
    assert run("clear", "--owner", "carol", "--monthly")[0] == 0
    assert MongoBudgetStore(database).budgets_for(owner="carol", key_id="")[0].monthly_usd is None
    assert run("clear", "--owner", "carol") == (0, "cleared the budget of 'carol'\n")
    assert run("clear", "--owner", "carol") == (0, "'carol' had no budget\n")
    with pytest.raises(SystemExit):
        main(["budget", "set", "--owner", "carol", "--daily", "-1"], environ=environ)
