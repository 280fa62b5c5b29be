"""Tool exchanges and summaries in the ConversationRepository contract (Mongo and in-memory)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from bson import ObjectId

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.core.errors import ConversationNotFound
from chat_service.core.models import NewMessage, Role, SessionInfo, Summary, ToolCall
from chat_service.ports.repository import ConversationRepository
from migrations import apply_all
from tests.fakes.memory_repository import InMemoryConversationRepository

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CALLS = (
    ToolCall("c1", "get_weather", '{"location": "Barcelona"}'),
    ToolCall("c2", "get_public_holidays", '{"country": "ES"}'),
)
TOOL_TURN = [
    NewMessage(Role.USER, "weather and holidays?"),
    NewMessage(Role.ASSISTANT, "", tool_calls=CALLS),
    NewMessage(Role.TOOL, '{"t": 20}', tool_call_id="c1", tool_name="get_weather"),
    NewMessage(Role.TOOL, '{"holidays": []}', tool_call_id="c2", tool_name="get_public_holidays"),
    NewMessage(Role.ASSISTANT, "20 °C and no holidays."),
]


@pytest.fixture(params=["memory", "mongo"])
def repository(request: pytest.FixtureRequest) -> Iterator[ConversationRepository]:
    if request.param == "memory":
        yield InMemoryConversationRepository()
        return
    client = connect_mongo(request.getfixturevalue("mongo_uri"), timeout_ms=5000)
    database = client[request.getfixturevalue("mongo_database_name")]
    apply_all(database)
    yield MongoConversationRepository(database)
    client.close()


def _new(repository: ConversationRepository) -> str:
    return repository.create(
        owner="alice", title="t", session=SessionInfo(), messages=TOOL_TURN, now=T0
    ).id


def _shape(messages):
    return [(m.seq, m.role, m.content, m.tool_calls, m.tool_call_id, m.tool_name) for m in messages]


def test_a_tool_turn_reads_back_with_its_calls_and_results(repository):
    cid = _new(repository)
    page = repository.list_messages(owner="alice", conversation_id=cid, page_size=10, page_token="")
    expected = [
        (i, m.role, m.content, m.tool_calls, m.tool_call_id, m.tool_name)
        for i, m in enumerate(TOOL_TURN)
    ]
    assert _shape(page.messages) == expected
    assert (
        _shape(repository.recent_messages(owner="alice", conversation_id=cid, limit=3))
        == expected[2:]
    )


def test_the_summary_is_stored_with_the_turn_and_bounds_the_history_read(repository):
    cid = _new(repository)
    assert repository.latest_summary(conversation_id=cid) is None
    repository.append(
        owner="alice",
        conversation_id=cid,
        messages=[NewMessage(Role.USER, "next"), NewMessage(Role.ASSISTANT, "ok")],
        now=T0,
        summary=Summary("They asked about the weather.", first_seq=0, end_seq=5),
    )
    repository.append(
        owner="alice",
        conversation_id=cid,
        messages=[NewMessage(Role.USER, "more"), NewMessage(Role.ASSISTANT, "sure")],
        now=T0,
        summary=Summary("Weather, then more.", first_seq=0, end_seq=7),
    )
    assert repository.latest_summary(conversation_id=cid) == Summary("Weather, then more.", 0, 7)
    after = repository.recent_messages(owner="alice", conversation_id=cid, limit=100, first_seq=7)
    assert [m.content for m in after] == ["more", "sure"]


def test_a_refused_append_stores_neither_messages_nor_summary(repository):
    cid = _new(repository)
    with pytest.raises(ConversationNotFound):
        repository.append(
            owner="mallory",
            conversation_id=cid,
            messages=[NewMessage(Role.USER, "x")],
            now=T0,
            summary=Summary("stolen", 0, 5),
        )
    assert repository.latest_summary(conversation_id=cid) is None
    assert repository.get(owner="alice", conversation_id=cid).message_count == len(TOOL_TURN)


def test_messages_stored_before_tool_fields_existed_still_load(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    database = client[mongo_database_name]
    apply_all(database)
    repository = MongoConversationRepository(database)
    cid = repository.create(owner="o", title="t", session=SessionInfo(), messages=[], now=T0).id
    database.conversations.update_one({"_id": ObjectId(cid)}, {"$set": {"message_count": 1}})
    database.messages.insert_one(
        {
            "conversation_id": ObjectId(cid),
            "seq": 0,
            "role": "user",
            "content": "old",
            "created_at": T0,
        }
    )
    [message] = repository.recent_messages(owner="o", conversation_id=cid, limit=5)
    assert (message.content, message.tool_calls, message.tool_call_id) == ("old", (), "")
    client.close()
