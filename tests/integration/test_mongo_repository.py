"""What only the Mongo adapter can show: document shapes, rollback, cross-process conflicts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
import pytest
from bson import ObjectId
from pymongo.database import Database

from chat_service.adapters.mongo import documents as mongo_documents
from chat_service.adapters.mongo.abandoned_transactions import AbandonedTransactions
from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.adapters.mongo.transactions import run_transaction
from chat_service.core.errors import (
    ConversationNotFound,
    StorageUnavailable,
    TurnAborted,
    WriteConflict,
)
from chat_service.core.models import NewMessage, Role, SessionInfo
from chat_service.edge.handlers import twirp_error_for
from migrations import apply_all

T0 = datetime(2025, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
SESSION = SessionInfo(platform="telegram", user_id="u1", chat_id="c1")
TURN = [NewMessage(Role.USER, "hi?"), NewMessage(Role.ASSISTANT, "hi!")]


@pytest.fixture
def database(mongo_uri: str, mongo_database_name: str) -> Iterator[Database[dict[str, Any]]]:
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    db = client[mongo_database_name]
    apply_all(db)
    yield db
    client.close()


def test_documents_have_the_documented_shape(database) -> None:
    repository = MongoConversationRepository(database)
    created = repository.create(owner="alice", title="T", session=SESSION, messages=TURN, now=T0)

    conversation = database.conversations.find_one()
    messages = list(database.messages.find().sort("seq", 1))

    assert conversation == {
        "_id": ObjectId(created.id),
        "owner": "alice",
        "title": "T",
        "platform": "telegram",
        "user_id": "u1",
        "chat_id": "c1",
        "created_at": T0.replace(microsecond=678_000),
        "updated_at": T0.replace(microsecond=678_000),
        "message_count": 2,
        "summary": None,
    }
    assert [{k: v for k, v in m.items() if k != "_id"} for m in messages] == [
        {
            "conversation_id": ObjectId(created.id),
            "seq": seq,
            "role": role,
            "content": content,
            "created_at": T0.replace(microsecond=678_000),
        }
        for seq, role, content in [(0, "user", "hi?"), (1, "assistant", "hi!")]
    ]
    assert all(isinstance(m["_id"], ObjectId) for m in messages)


def test_a_failed_append_leaves_nothing(database) -> None:
    repository = MongoConversationRepository(database)
    created = repository.create(owner="alice", title="", session=SESSION, messages=TURN, now=T0)
    object_id = ObjectId(created.id)
    database.messages.insert_one({"conversation_id": object_id, "seq": 3, "stray": True})

    with pytest.raises(pymongo.errors.BulkWriteError):
        repository.append(owner="alice", conversation_id=created.id, messages=TURN, now=T0)

    assert repository.get(owner="alice", conversation_id=created.id) == created
    assert sorted(m["seq"] for m in database.messages.find({"conversation_id": object_id})) == [
        0,
        1,
        3,
    ]


def test_a_failed_create_leaves_nothing(database, monkeypatch: pytest.MonkeyPatch) -> None:
    real = mongo_documents.message_documents

    def same_seq_twice(conversation_id, first_seq, messages, now):
        documents = real(conversation_id, first_seq, messages, now)
        return [documents[0], {**documents[1], "seq": documents[0]["seq"]}]

    monkeypatch.setattr("chat_service.adapters.mongo.repository.message_documents", same_seq_twice)
    repository = MongoConversationRepository(database)

    with pytest.raises(pymongo.errors.BulkWriteError):
        repository.create(owner="alice", title="", session=SESSION, messages=TURN, now=T0)

    assert database.conversations.count_documents({}) == 0
    assert database.messages.count_documents({}) == 0


def test_datetimes_come_back_aware_from_a_naive_client(mongo_uri: str, database) -> None:
    naive_client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        mongo_uri, serverSelectionTimeoutMS=5000
    )
    with naive_client:
        repository = MongoConversationRepository(naive_client[database.name])
        created = repository.create(owner="alice", title="", session=SESSION, messages=TURN, now=T0)
        read = repository.get(owner="alice", conversation_id=created.id)
        messages = repository.recent_messages(owner="alice", conversation_id=created.id, limit=2)

    assert read == created
    assert read.created_at.utcoffset() == timedelta(0)
    assert messages[0].created_at.utcoffset() == timedelta(0)


def test_appends_from_several_processes_retry_their_write_conflicts(
    mongo_uri: str, database
) -> None:
    # One client and repository per simulated process: nothing in-process serialises them.
    clients = [connect_mongo(mongo_uri, timeout_ms=5000) for _ in range(5)]
    repositories = [MongoConversationRepository(c[database.name]) for c in clients]
    created = repositories[0].create(owner="a", title="", session=SESSION, messages=[], now=T0)
    start = threading.Barrier(50)
    errors: list[BaseException] = []

    def append_one_turn(n: int) -> None:
        start.wait()
        try:
            repositories[n % 5].append(owner="a", conversation_id=created.id, messages=TURN, now=T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append_one_turn, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()

    assert errors == []
    messages = list(database.messages.find({}, {"seq": 1, "role": 1}).sort("seq", 1))
    assert [m["seq"] for m in messages] == list(range(100))
    assert [m["role"] for m in messages] == ["user", "assistant"] * 50


def test_a_transaction_past_its_deadline_is_unavailable(database) -> None:
    repository = MongoConversationRepository(database, transaction_timeout_s=1e-9)

    with pytest.raises(StorageUnavailable):
        repository.create(owner="alice", title="", session=SESSION, messages=TURN, now=T0)


def test_delete_removes_everything_that_names_the_conversation(database) -> None:
    repository = MongoConversationRepository(database)
    gone = repository.create(owner="alice", title="T", session=SESSION, messages=TURN, now=T0)
    kept = repository.create(owner="alice", title="T", session=SESSION, messages=TURN, now=T0)
    gone_id = ObjectId(gone.id)
    database.summaries.insert_one(
        {"conversation_id": gone_id, "first_seq": 0, "end_seq": 2, "content": "s", "created_at": T0}
    )
    for conversation_id in (gone.id, kept.id):
        database.sessions.insert_one(
            {
                "_id": f"session-{conversation_id}",
                "owner": "alice",
                "conversation_id": conversation_id,
            }
        )
        database.idempotency_keys.insert_one(
            {
                "_id": f"record-{conversation_id}",
                "owner": "alice",
                "state": "done",
                "outcome": {
                    "conversation_id": conversation_id,
                    "reply": "r",
                    "title": "t",
                    "new_conversation": False,
                },
            }
        )

    assert repository.delete(owner="alice", conversation_id=gone.id, now=T0) is True

    assert database.conversations.count_documents({"_id": gone_id}) == 0
    assert database.messages.count_documents({"conversation_id": gone_id}) == 0
    assert database.summaries.count_documents({"conversation_id": gone_id}) == 0
    assert database.sessions.count_documents({"conversation_id": gone.id}) == 0
    assert database.idempotency_keys.count_documents({"outcome.conversation_id": gone.id}) == 0
    assert database.deleted_conversations.find_one({"_id": gone_id})["owner"] == "alice"
    kept_id = ObjectId(kept.id)  # the other conversation keeps all of its records
    assert database.messages.count_documents({"conversation_id": kept_id}) == 2
    assert database.sessions.count_documents({"conversation_id": kept.id}) == 1
    assert database.idempotency_keys.count_documents({"outcome.conversation_id": kept.id}) == 1


def test_a_second_delete_completes_an_interrupted_clean_up(database) -> None:
    repository = MongoConversationRepository(database)
    created = repository.create(owner="alice", title="T", session=SESSION, messages=TURN, now=T0)
    repository.delete(owner="alice", conversation_id=created.id, now=T0)
    # As if the first call had stopped after removing the header: messages left behind.
    database.messages.insert_one({"conversation_id": ObjectId(created.id), "seq": 0})

    assert repository.delete(owner="alice", conversation_id=created.id, now=T0) is False
    assert database.messages.count_documents({"conversation_id": ObjectId(created.id)}) == 0


def test_appends_racing_a_delete_leave_no_orphan_messages(database) -> None:
    repository = MongoConversationRepository(database)
    created = repository.create(owner="alice", title="T", session=SESSION, messages=TURN, now=T0)
    outcomes: list[str] = []

    def append() -> None:
        try:
            repository.append(owner="alice", conversation_id=created.id, messages=TURN, now=T0)
            outcomes.append("appended")
        except ConversationNotFound:
            outcomes.append("not_found")

    threads = [threading.Thread(target=append) for _ in range(8)]
    for thread in threads:
        thread.start()
    repository.delete(owner="alice", conversation_id=created.id, now=T0)
    for thread in threads:
        thread.join()

    assert len(outcomes) == 8
    assert database.messages.count_documents({"conversation_id": ObjectId(created.id)}) == 0


class _KeepUnaborted(AbandonedTransactions):
    """Keeps the sessions run_transaction gives up and aborts nothing, as before abandoned
    transactions were aborted (the server's lifetime limit alone would)."""

    def __init__(self, database) -> None:
        super().__init__([database.conversations])
        self.sessions: list[Any] = []

    def adopt(self, session: Any) -> None:
        self.sessions.append(session)


def _write_then_overrun(database, conversation_id: str) -> Callable[[Any], None]:
    """A transaction body that writes the header, then outlasts its deadline: pymongo sends
    nothing after the deadline, not even abortTransaction, so the transaction stays open on
    the server with the header locked, as when a stall swallowed the client's abort."""

    def body(session: Any) -> None:
        header = {"_id": ObjectId(conversation_id)}
        database.conversations.update_one(header, {"$set": {"title": "held"}}, session=session)
        time.sleep(0.4)
        database.conversations.find_one(header, session=session)

    return body


def test_a_write_conflict_that_outlasts_the_deadline_is_aborted_not_unavailable(database) -> None:
    repository = MongoConversationRepository(database, transaction_timeout_s=0.5)
    created = repository.create(owner="a", title="", session=SESSION, messages=[], now=T0)
    kept = _KeepUnaborted(database)
    try:
        with pytest.raises(StorageUnavailable):
            run_transaction(
                database.client,
                _write_then_overrun(database, created.id),
                deadline=time.monotonic() + 0.2,
                abandoned=kept,
            )

        with pytest.raises(WriteConflict) as conflict:
            repository.append(owner="a", conversation_id=created.id, messages=TURN, now=T0)
    finally:
        # An open transaction would block dropping the test's database (secantusd waits).
        cleanup = AbandonedTransactions([database.conversations])
        for session in kept.sessions:
            cleanup.adopt(session)
        _wait_until(lambda: cleanup.pending() == 0)
        cleanup.close()

    assert isinstance(conflict.value, TurnAborted)
    error = twirp_error_for(conflict.value)
    assert error is not None
    assert (error.code, error.status, error.meta) == ("aborted", 409, {"reason": "write_conflict"})
    assert error.msg == "the conversation is busy with another write; retry"


def test_a_transaction_given_up_mid_write_is_aborted_and_the_next_turn_succeeds(database) -> None:
    repository = MongoConversationRepository(database, transaction_timeout_s=3)
    created = repository.create(owner="a", title="", session=SESSION, messages=[], now=T0)
    abandoned = AbandonedTransactions([database.conversations])
    with pytest.raises(StorageUnavailable):
        run_transaction(
            database.client,
            _write_then_overrun(database, created.id),
            deadline=time.monotonic() + 0.2,
            abandoned=abandoned,
        )

    began = time.monotonic()
    appended = repository.append(owner="a", conversation_id=created.id, messages=TURN, now=T0)

    assert time.monotonic() - began < 1.5  # not the server's 60 s transaction lifetime
    assert appended.message_count == 2
    assert database.conversations.find_one({"_id": ObjectId(created.id)})["title"] == ""
    assert abandoned.pending() == 0
    abandoned.close()
    repository.close()


def _wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
