"""`python -m ops.owner`: export and erase one owner's data, against the real Mongo-protocol
server and Redis, with documents written by the service's own adapters."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pymongo
import pymongo.collection
import pytest
from bson import ObjectId

from chat_service.adapters.mongo.api_keys import MongoApiKeyStore
from chat_service.adapters.mongo.budgets import MongoBudgetStore
from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.idempotency import MongoIdempotencyStore
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.adapters.mongo.sessions import MongoSessionStore
from chat_service.adapters.mongo.usage_ledger import MongoUsageLedger
from chat_service.adapters.redis.client import connect_redis
from chat_service.adapters.redis.session_cache import RedisSessionCache
from chat_service.core.availability import RedisAvailability
from chat_service.core.models import NewMessage, Role, SessionInfo, Summary, ToolCall
from chat_service.core.usage import ModelCall, UsageRecord
from chat_service.ports.budgets import Budget, BudgetScope
from chat_service.ports.idempotency import Claim, Receipt
from chat_service.ports.sessions import Session, SessionKey
from migrations import apply_all
from ops import owner, owner_erasure
from ops.owner_erasure import OwnerErasure
from ops.owner_export import export_owner

T0 = datetime(2026, 2, 3, 4, 5, 6, 789_000, tzinfo=UTC)
COLLECTIONS = (
    "api_keys",
    "conversations",
    "messages",
    "summaries",
    "idempotency_keys",
    "deleted_conversations",
    "sessions",
    "usage",
    "budgets",
)


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    database = client[mongo_database_name]
    apply_all(database)
    yield database
    client.close()


@pytest.fixture
def environ(mongo_uri, mongo_database_name, redis_url):
    return {"MONGO_URI": mongo_uri, "MONGO_DATABASE": mongo_database_name, "REDIS_URL": redis_url}


class Terminal(io.StringIO):
    """A standard input that says it is a terminal, with the operator's answer in it."""

    def isatty(self) -> bool:
        return True


@dataclass
class Seeded:
    """What `seed` stored for one owner."""

    owner: str
    conversations: list[str]
    deleted: str
    session_key: SessionKey


def seed(database, owner: str, *, conversations: int = 3) -> Seeded:
    """Stores, through the service's adapters, everything an owner can have: conversations
    (one with a tool exchange, one with a summary), an idempotency record, a session, an API
    key, a conversation deleted with DeleteConversation (its tombstone), two usage records
    and budgets of the owner and of its key."""
    repository = MongoConversationRepository(database)
    idempotency = MongoIdempotencyStore(database)
    conversation_ids = []
    for n in range(conversations):
        session = SessionInfo(platform="telegram", user_id=f"u{n}", chat_id=f"{owner}-{n}")
        claim = Claim(f"{owner}-record-{n}", "token", owner)
        idempotency.claim(
            claim, fingerprint="f", now=T0, lease=timedelta(minutes=1), ttl=timedelta(days=1)
        )
        created = repository.create(
            owner=owner,
            title=f"Trip {n} — «Lisboa»",
            session=session,
            messages=[
                NewMessage(Role.USER, f"Weather in Lisbon?\nline two {n}"),
                NewMessage(
                    Role.ASSISTANT,
                    "",
                    tool_calls=(ToolCall("call-1", "weather", '{"city": "Lisbon"}'),),
                ),
                NewMessage(Role.TOOL, "18 °C", tool_call_id="call-1", tool_name="weather"),
                NewMessage(Role.ASSISTANT, f"It is 18 °C ({n})."),
            ],
            now=T0 + timedelta(minutes=n),
            receipt=Receipt(claim, reply="It is 18 °C."),
        )
        conversation_ids.append(created.id)
    repository.append(
        owner=owner,
        conversation_id=conversation_ids[0],
        messages=[NewMessage(Role.USER, "and tomorrow?"), NewMessage(Role.ASSISTANT, "rain")],
        now=T0 + timedelta(hours=1),
        summary=Summary("asked about the weather", first_seq=0, end_seq=4),
    )
    gone = repository.create(
        owner=owner,
        title="deleted",
        session=SessionInfo(),
        messages=[NewMessage(Role.USER, "forget me")],
        now=T0,
    )
    repository.delete(owner=owner, conversation_id=gone.id, now=T0)
    key = SessionKey(owner, "telegram", f"{owner}-0", "")
    MongoSessionStore(database).put(
        key, Session("s1", conversation_ids[0], T0), expires_at=T0 + timedelta(days=3650)
    )
    MongoApiKeyStore(database).add(
        digest=hashlib.sha256(f"key of {owner}".encode()).hexdigest(),
        owner=owner,
        name="laptop",
        now=T0,
    )
    call = ModelCall("reply", "openai", "gpt-x", 10, 5, 0.01, 100)
    for turn in ("t1", "t2"):
        MongoUsageLedger(database).add(UsageRecord(owner, "k", turn, T0, call))
    budgets = MongoBudgetStore(database)
    budgets.put(Budget(BudgetScope.OWNER, owner, daily_usd=1.0), now=T0)
    budgets.put(Budget(BudgetScope.KEY, owner, f"{owner}-key", daily_usd=0.5), now=T0)
    return Seeded(owner, conversation_ids, gone.id, key)


def snapshot(database, seeded: Seeded) -> dict[str, list[dict]]:
    """Every document that names the owner or one of its conversations, by collection."""
    ids = [ObjectId(c) for c in [*seeded.conversations, seeded.deleted]]
    names = [str(i) for i in ids]
    queries = {
        "api_keys": {"owner": seeded.owner},
        "conversations": {"owner": seeded.owner},
        "messages": {"conversation_id": {"$in": ids}},
        "summaries": {"conversation_id": {"$in": ids}},
        "idempotency_keys": {"outcome.conversation_id": {"$in": names}},
        "deleted_conversations": {"owner": seeded.owner},
        "sessions": {"owner": seeded.owner},
        "usage": {"owner": seeded.owner},
        "budgets": {"owner": seeded.owner},
    }
    return {
        name: list(database[name].find(query).sort("_id", 1)) for name, query in queries.items()
    }


def export_lines(database, owner_name: str, **options) -> list[dict]:
    out = io.BytesIO()
    report = export_owner(database, owner_name, out, **options)
    text = out.getvalue().decode("ascii")  # ASCII-escaped JSON
    lines = [json.loads(line) for line in text.splitlines()]
    assert report.conversations == len(lines)
    assert report.bytes == len(out.getvalue())
    return lines


def counts_in(err: str) -> dict[str, str]:
    """The counts an erase printed, by collection: what follows each name, as printed."""
    rows = [line.split(maxsplit=1) for line in err.splitlines() if line.startswith("  ")]
    return {name: rest for name, rest in rows}


def cache_generation(redis_client, owner_name: str) -> int:
    value = redis_client.get(f"acai:cachegen:v1:{hashlib.sha256(owner_name.encode()).hexdigest()}")
    return int(value or 0)


def test_the_export_holds_every_conversation_with_its_messages_in_creation_order(database):
    alice = seed(database, f"alice-{uuid.uuid4().hex[:6]}")
    seed(database, "bob")
    repository = MongoConversationRepository(database)

    lines = export_lines(database, alice.owner)

    assert [line["id"] for line in lines] == alice.conversations  # the deleted one is not there
    for line in lines:
        conversation = repository.get(owner=alice.owner, conversation_id=line["id"])
        stored = repository.list_messages(
            owner=alice.owner, conversation_id=line["id"], page_size=1000, page_token=""
        ).messages
        assert line == {
            "id": conversation.id,
            "title": conversation.title,
            "created_at": conversation.created_at.isoformat(timespec="milliseconds")[:-6] + "Z",
            "updated_at": conversation.updated_at.isoformat(timespec="milliseconds")[:-6] + "Z",
            "platform": "telegram",
            "chat_id": conversation.session.chat_id,
            "user_id": conversation.session.user_id,
            "messages": [
                {
                    "seq": m.seq,
                    "role": m.role.value,
                    "content": m.content,
                    "created_at": m.created_at.isoformat(timespec="milliseconds")[:-6] + "Z",
                    "tool_calls": [
                        {"id": c.id, "name": c.name, "arguments": c.arguments} for c in m.tool_calls
                    ],
                    "tool_call_id": m.tool_call_id,
                    "tool_name": m.tool_name,
                }
                for m in stored
            ],
        }
    first = lines[0]
    assert first["created_at"] == "2026-02-03T04:05:06.789Z"
    assert datetime.fromisoformat(first["updated_at"]) == T0 + timedelta(hours=1)
    assert [m["seq"] for m in first["messages"]] == list(range(6))
    assert first["messages"][1]["tool_calls"] == [
        {"id": "call-1", "name": "weather", "arguments": '{"city": "Lisbon"}'}
    ]
    assert first["messages"][2]["tool_name"] == "weather"
    assert first["title"] == "Trip 0 — «Lisboa»"


def test_the_export_pages_through_equal_creation_times_and_long_conversations(database):
    conversations = database.conversations
    ids = sorted(ObjectId() for _ in range(7))
    conversations.insert_many(
        {
            "_id": i,
            "owner": "carol",
            "title": f"c{n}",
            "platform": "api",
            "user_id": "",
            "chat_id": "",
            "created_at": T0 + timedelta(seconds=n // 3),  # three share each time
            "updated_at": T0,
            "message_count": 25 if n == 4 else 1,
        }
        for n, i in enumerate(reversed(ids))  # _id order differs from creation order
    )
    expected = sorted(conversations.find(), key=lambda d: (d["created_at"], d["_id"]))
    for header in expected:
        database.messages.insert_many(
            {
                "conversation_id": header["_id"],
                "seq": seq,
                "role": "user",
                "content": f"{seq}",
                "created_at": T0,
            }
            for seq in range(header["message_count"] + 1)  # one beyond the count: not committed
        )

    lines = export_lines(database, "carol", batch_size=2)

    assert [line["id"] for line in lines] == [str(h["_id"]) for h in expected]
    long = next(line for line in lines if len(line["messages"]) > 1)
    assert [m["content"] for m in long["messages"]] == [str(seq) for seq in range(25)]
    assert export_lines(database, "nobody") == []


def test_erase_removes_everything_of_the_owner_and_nothing_of_another(database):
    alice, bob = seed(database, "alice"), seed(database, "bob")
    bob_before = snapshot(database, bob)
    other_collections = {
        name: list(database[name].find().sort("_id", 1))
        for name in database.list_collection_names()
        if name not in COLLECTIONS
    }

    database.owner_settings.insert_many(
        [{"_id": "alice", "instructions": "Be brief."}, {"_id": "bob", "instructions": "Hi."}]
    )
    report = OwnerErasure(database).erase("alice", api_keys=False)

    assert database.owner_settings.distinct("_id") == ["bob"]
    assert report.counts() == {
        "api_keys": 0,
        "conversations": 3,
        "messages": 3 * 4 + 2,
        "summaries": 1,
        "idempotency_keys": 3,
        "deleted_conversations": 1,
        "sessions": 1,
        "usage": 2,
        "budgets": 0,
        "owner_settings": 1,
    }
    left = snapshot(database, alice)
    # Without --keys the owner keeps its keys, and the limits that go with them.
    assert {name: len(documents) for name, documents in left.items() if documents} == {
        "api_keys": 1,
        "budgets": 2,
    }
    assert snapshot(database, bob) == bob_before
    assert {
        name: list(database[name].find().sort("_id", 1)) for name in other_collections
    } == other_collections
    assert export_lines(database, "alice") == []


def test_erase_removes_the_owners_claims_that_never_completed(database):
    seed(database, "alice")
    seed(database, "bob")
    store = MongoIdempotencyStore(database)
    for name in ("alice", "bob"):
        store.claim(
            Claim(f"{name}-pending", "token", name),
            fingerprint="f",
            now=T0,
            lease=timedelta(minutes=1),
            ttl=timedelta(days=1),
        )

    report = OwnerErasure(database).erase("alice", api_keys=False)

    assert report.counts()["idempotency_keys"] == 4
    assert database.idempotency_keys.count_documents({"owner": "alice"}) == 0
    assert database.idempotency_keys.count_documents({"_id": "bob-pending"}) == 1


def test_erase_with_keys_removes_the_owners_keys_too(database):
    seed(database, "alice")
    seed(database, "bob")

    report = OwnerErasure(database).erase("alice", api_keys=True)

    assert (report.api_keys, report.budgets) == (1, 2)
    assert [k.owner for k in MongoApiKeyStore(database).list_keys()] == ["bob"]
    assert {b.owner for b in MongoBudgetStore(database).list_budgets()} == {"bob"}


# In batches of 2, the 5th delete is the first chunk's headers (after their messages), the 13th
# the second chunk's sweep after its headers, the 23rd the tombstone's messages, the 27th the
# sessions.
@pytest.mark.parametrize("failing_call", [5, 13, 23, 27])
def test_a_second_run_finishes_an_erasure_that_was_cut_short(database, monkeypatch, failing_call):
    alice, bob = seed(database, "alice", conversations=5), seed(database, "bob")
    bob_before = snapshot(database, bob)
    real_delete_many = pymongo.collection.Collection.delete_many
    calls = 0

    def fails_once(self, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == failing_call:
            raise pymongo.errors.AutoReconnect("connection lost")
        return real_delete_many(self, *args, **kwargs)

    monkeypatch.setattr(pymongo.collection.Collection, "delete_many", fails_once)
    with pytest.raises(pymongo.errors.AutoReconnect):
        OwnerErasure(database, batch_size=2).erase("alice", api_keys=True)
    monkeypatch.undo()
    partly = snapshot(database, alice)
    assert not partly["api_keys"]
    assert any(partly.values())

    second = OwnerErasure(database, batch_size=2).erase("alice", api_keys=True)

    assert second.conversations == len(partly["conversations"])
    assert second.deleted_conversations == len(partly["deleted_conversations"])
    assert not any(snapshot(database, alice).values())
    assert snapshot(database, bob) == bob_before
    again = OwnerErasure(database).erase("alice", api_keys=True)
    assert not any(again.counts().values())


def test_a_long_conversation_is_deleted_in_windows(database, monkeypatch):
    monkeypatch.setattr(owner_erasure, "MESSAGES_PER_DELETE", 4)
    lengths = (11, 2, 4, 1, 0)
    for length in lengths:
        conversation_id = ObjectId()
        database.conversations.insert_one(
            {"_id": conversation_id, "owner": "dave", "message_count": length}
        )
        if length:
            database.messages.insert_many(
                {"conversation_id": conversation_id, "seq": seq, "content": "m"}
                for seq in range(length)
            )
    deleted = []
    real_delete_many = pymongo.collection.Collection.delete_many

    def recorded(self, query, *args, **kwargs):
        result = real_delete_many(self, query, *args, **kwargs)
        if self.name == "messages":
            deleted.append(result.deleted_count)
        return result

    monkeypatch.setattr(pymongo.collection.Collection, "delete_many", recorded)
    report = OwnerErasure(database, batch_size=10).erase("dave", api_keys=False)

    assert (report.conversations, report.messages) == (len(lengths), sum(lengths))
    assert max(deleted) == 4  # windows of the 11 and the 4, then 2 + 1 together
    assert database.messages.count_documents({}) == 0


def test_the_command_line_exports_to_a_new_file(database, environ, tmp_path, capsys):
    alice = seed(database, "alice")
    path = tmp_path / "alice.jsonl"

    assert owner.main(["export", "--owner", "alice", "--output", str(path)], environ=environ) == 0

    err = capsys.readouterr().err
    assert f"exported 3 conversations with 14 messages ({path.stat().st_size} bytes)" in err
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == (
        alice.conversations
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no .partial left

    assert owner.main(["export", "--owner", "alice", "--output", str(path)], environ=environ) == 1
    assert capsys.readouterr().err == f"owner: failed: {path} already exists\n"


def test_the_command_line_exports_to_standard_output(database, environ, capsysbinary):
    seed(database, "alice")

    assert owner.main(["export", "--owner", "alice"], environ=environ) == 0

    captured = capsysbinary.readouterr()
    assert len(captured.out.splitlines()) == 3
    assert b"exported 3 conversations" in captured.err


def test_the_command_line_erases_and_puts_cached_answers_out_of_reach(
    database, environ, any_redis_url, capsys
):
    environ = {**environ, "REDIS_URL": any_redis_url}
    redis_client = connect_redis(any_redis_url, timeout_s=2)
    alice = seed(database, "alice")
    seed(database, "bob")
    sessions = RedisSessionCache(redis_client, availability=RedisAvailability())
    sessions.put(alice.session_key, Session("s1", alice.conversations[0], T0), ttl=timedelta(1))
    before = cache_generation(redis_client, "alice"), cache_generation(redis_client, "bob")

    status = owner.main(["erase", "--owner", "alice", "--yes"], environ=environ)

    assert status == 0
    err = capsys.readouterr().err
    assert "erased owner 'alice':" in err
    assert counts_in(err)["messages"] == "14"
    assert counts_in(err)["api_keys"] == "0  (1 kept: --keys erases them)"
    assert "the owner has a new generation, its cached answers are out of reach" in err
    after = cache_generation(redis_client, "alice"), cache_generation(redis_client, "bob")
    assert after == (before[0] + 1, before[1])
    assert sessions.get(alice.session_key) is None

    assert owner.main(["erase", "--owner", "alice", "--yes", "--keys"], environ=environ) == 0
    assert counts_in(capsys.readouterr().err) == {name: "0" for name in COLLECTIONS} | {
        "api_keys": "1",
        "budgets": "2",
        "owner_settings": "0",
    }
    assert [k.owner for k in MongoApiKeyStore(database).list_keys()] == ["bob"]
    redis_client.close()


def test_erase_asks_on_a_terminal_and_refuses_elsewhere_without_yes(database, environ, capsys):
    alice = seed(database, "alice")
    before = snapshot(database, alice)
    args = ["erase", "--owner", "alice", "--keys"]

    assert owner.main(args, environ=environ, stdin=io.StringIO("alice\n")) == 2
    assert capsys.readouterr().err == (
        "owner: error: erase needs --yes when standard input is not a terminal\n"
    )
    assert owner.main(args, environ=environ, stdin=Terminal("bob\n")) == 1
    err = capsys.readouterr().err
    assert "This erases everything of owner 'alice' (3 conversations, 1 API key now)" in err
    assert err.endswith("owner: not confirmed: nothing was erased\n")
    assert snapshot(database, alice) == before

    assert owner.main(args, environ=environ, stdin=Terminal("alice\n")) == 0
    assert not any(snapshot(database, alice).values())


def test_erase_without_redis_still_erases_and_says_what_it_could_not_do(database, environ, capsys):
    alice = seed(database, "alice")
    environ = {**environ, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT_S": "0.5"}

    assert owner.main(["erase", "--owner", "alice", "--yes"], environ=environ) == 0

    err = capsys.readouterr().err
    assert "warning: Redis at 127.0.0.1:1 is unreachable (" in err
    assert "the owner's cached answers were not put out of reach" in err
    assert not snapshot(database, alice)["conversations"]


@pytest.mark.parametrize(
    ("uri", "status", "message"),
    [
        ("mongodb://[::1", 2, "owner: error: MONGO_URI is not a usable MongoDB URI: "),
        (
            "mongodb://127.0.0.1:1",
            1,
            "owner: error: cannot reach MongoDB at mongodb://127.0.0.1:1 within 0.3 s"
            " (MONGO_URI): 127.0.0.1:1: ",
        ),
    ],
)
@pytest.mark.parametrize("command", ["export", "erase"])
def test_a_bad_or_unreachable_database_fails_with_one_line(command, uri, status, message, capsys):
    environ = {"MONGO_URI": uri, "MONGO_TIMEOUT_MS": "300", "REDIS_URL": "redis://127.0.0.1:1"}

    argv = [command, "--owner", "alice", *(["--yes"] if command == "erase" else [])]

    assert owner.main(argv, environ=environ) == status

    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert "Topology" not in err


def test_usage_errors_exit_with_status_two(environ, capsys):
    assert owner.main(["export", "--owner", " "], environ=environ) == 2
    assert capsys.readouterr().err == "owner: error: --owner must not be blank\n"
    assert owner.main(["erase", "--owner", "x", "--batch-size", "0"], environ=environ) == 2
    assert owner.main(["export", "--owner", "x"], environ={"MONGO_TIMEOUT_MS": "soon"}) == 2
    assert "MONGO_TIMEOUT_MS='soon' is not a valid int" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        owner.main(["erase"])
    assert exit_info.value.code == 2
