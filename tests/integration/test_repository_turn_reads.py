"""A turn's read (`turn_context`) and its write against the header it read (`append(read=)`),
in the ConversationRepository contract (Mongo and in-memory), plus the Mongo adapter's
upgrade path (headers without a summary copy) and its fallback without `bulkWrite`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import OperationFailure

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.adapters.mongo.turn_storage import BulkWrites
from chat_service.core.errors import ConversationNotFound, TurnConflict
from chat_service.core.models import NewMessage, Role, SessionInfo, Summary
from chat_service.ports.repository import ConversationRepository
from migrations import apply_all
from tests.fakes.memory_repository import InMemoryConversationRepository

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SESSION = SessionInfo(platform="web", user_id="u", chat_id="c")


def _turn(text: str) -> list[NewMessage]:
    return [NewMessage(Role.USER, text), NewMessage(Role.ASSISTANT, f"re: {text}")]


@pytest.fixture
def mongo(mongo_uri: str, mongo_database_name: str) -> Iterator[Any]:
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    database = client[mongo_database_name]
    apply_all(database)
    yield database
    client.close()


@pytest.fixture(params=["memory", "mongo"])
def repository(request: pytest.FixtureRequest) -> Iterator[ConversationRepository]:
    if request.param == "memory":
        yield InMemoryConversationRepository()
        return
    yield MongoConversationRepository(request.getfixturevalue("mongo"))


def _conversation(repository: ConversationRepository, turns: int) -> str:
    cid = repository.create(
        owner="alice", title="t", session=SESSION, messages=_turn("0"), now=T0
    ).id
    for n in range(1, turns):
        repository.append(owner="alice", conversation_id=cid, messages=_turn(f"{n}"), now=T0)
    return cid


def test_the_read_is_header_summary_and_the_last_messages_after_it(repository) -> None:
    cid = _conversation(repository, 5)  # 10 messages
    read = repository.turn_context(owner="alice", conversation_id=cid, history_messages=4)
    assert read.header == repository.get(owner="alice", conversation_id=cid)
    assert read.summary is None
    assert [m.seq for m in read.messages] == [6, 7, 8, 9]

    repository.append(
        owner="alice",
        conversation_id=cid,
        messages=_turn("5"),
        now=T0,
        summary=Summary("the first nine", first_seq=0, end_seq=9),
    )
    read = repository.turn_context(owner="alice", conversation_id=cid, history_messages=40)
    assert read.summary == Summary("the first nine", 0, 9)
    assert [m.seq for m in read.messages] == [9, 10, 11]
    assert (
        repository.turn_context(owner="alice", conversation_id=cid, history_messages=0).messages
        == []
    )


def test_another_owner_reads_nothing(repository) -> None:
    cid = _conversation(repository, 1)
    with pytest.raises(ConversationNotFound):
        repository.turn_context(owner="mallory", conversation_id=cid, history_messages=4)


def test_an_append_against_the_header_read_commits_once(repository) -> None:
    cid = _conversation(repository, 2)
    read = repository.turn_context(owner="alice", conversation_id=cid, history_messages=4)
    later = T0 + timedelta(minutes=1)
    updated = repository.append(
        owner="alice", conversation_id=cid, messages=_turn("a"), now=later, read=read.header
    )
    assert updated == repository.get(owner="alice", conversation_id=cid)
    assert updated.message_count == 6
    assert updated.updated_at == later
    with pytest.raises(TurnConflict):
        repository.append(
            owner="alice", conversation_id=cid, messages=_turn("b"), now=later, read=read.header
        )
    page = repository.list_messages(
        owner="alice", conversation_id=cid, page_size=100, page_token=""
    )
    assert [m.content for m in page.messages][-2:] == ["a", "re: a"]


def test_an_append_against_a_deleted_conversation_stores_nothing(repository) -> None:
    cid = _conversation(repository, 1)
    read = repository.turn_context(owner="alice", conversation_id=cid, history_messages=4)
    repository.delete(owner="alice", conversation_id=cid, now=T0)
    with pytest.raises(ConversationNotFound):
        repository.append(
            owner="alice",
            conversation_id=cid,
            messages=_turn("late"),
            now=T0,
            summary=Summary("late", 0, 2),
            read=read.header,
        )


def test_a_header_without_a_summary_copy_gets_one(mongo) -> None:
    repository = MongoConversationRepository(mongo)
    cid = _conversation(repository, 3)
    oid = ObjectId(cid)
    # As written before headers carried the copy: the summary only in `summaries`.
    mongo.conversations.update_one({"_id": oid}, {"$unset": {"summary": ""}})
    mongo.summaries.insert_many(
        [
            {"conversation_id": oid, "first_seq": 0, "end_seq": e, "content": f"to {e}"}
            for e in (2, 4)
        ]
    )
    read = repository.turn_context(owner="alice", conversation_id=cid, history_messages=40)
    assert read.summary == Summary("to 4", 0, 4)
    assert [m.seq for m in read.messages] == [4, 5]
    stored = mongo.conversations.find_one({"_id": oid})
    assert stored["summary"] == {"content": "to 4", "first_seq": 0, "end_seq": 4}


def test_without_bulk_write_the_append_uses_one_command_per_collection(mongo) -> None:
    repository = MongoConversationRepository(mongo)
    repository._bulk_writes.supported = False
    cid = _conversation(repository, 1)
    read = repository.turn_context(owner="alice", conversation_id=cid, history_messages=4)
    repository.append(
        owner="alice",
        conversation_id=cid,
        messages=_turn("x"),
        now=T0,
        summary=Summary("s", 0, 2),
        read=read.header,
    )
    again = repository.turn_context(owner="alice", conversation_id=cid, history_messages=4)
    assert again.header.message_count == 4
    assert again.summary == Summary("s", 0, 2)
    with pytest.raises(TurnConflict):
        repository.append(
            owner="alice", conversation_id=cid, messages=_turn("y"), now=T0, read=read.header
        )


def test_a_server_without_bulk_write_is_learned_once() -> None:
    writes = BulkWrites()
    assert not writes.unsupported(OperationFailure("boom", code=2))
    assert writes.supported
    assert writes.unsupported(OperationFailure("no such command: 'bulkWrite'", code=59))
    assert not writes.supported


def test_a_refused_bulk_write_argument_sends_that_turn_command_by_command() -> None:
    writes = BulkWrites()
    refused = OperationFailure("BSON field 'bulkWrite.readConcern' is an unknown field.", 40415)
    assert writes.unsupported(refused)
    assert writes.supported  # the next turn tries bulkWrite again
