"""The Mongo repository's history cache: a turn that follows one in this process reads its
header alone, and whatever another process (or a replacing turn) wrote is read from the
database, never served stale."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import monitoring

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.core.models import NewMessage, Role, SessionInfo
from migrations import apply_all

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SESSION = SessionInfo(platform="web", user_id="u", chat_id="c")
HISTORY = 6


class _Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.collections: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.collections.append(str(event.command["find"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def finds() -> _Finds:
    return _Finds()


@pytest.fixture
def database(mongo_uri: str, mongo_database_name: str, finds: _Finds) -> Iterator[Any]:
    client = connect_mongo(mongo_uri, timeout_ms=5000, event_listeners=[finds])
    database = client[mongo_database_name]
    apply_all(database)
    yield database
    client.close()


def _turn(text: str) -> list[NewMessage]:
    return [NewMessage(Role.USER, text), NewMessage(Role.ASSISTANT, f"re: {text}")]


def _read(repository: MongoConversationRepository, cid: str) -> list[str]:
    context = repository.turn_context(owner="alice", conversation_id=cid, history_messages=HISTORY)
    return [m.content for m in context.messages]


def test_a_turn_after_one_here_reads_the_header_alone(database: Any, finds: _Finds) -> None:
    repository = MongoConversationRepository(database)
    cid = repository.create(
        owner="alice", title="t", session=SESSION, messages=_turn("0"), now=T0
    ).id
    for n in range(1, 5):
        read = repository.turn_context(owner="alice", conversation_id=cid, history_messages=HISTORY)
        repository.append(
            owner="alice", conversation_id=cid, messages=_turn(f"{n}"), now=T0, read=read.header
        )
    finds.collections.clear()

    assert (
        _read(repository, cid)
        == ["1", "re: 1", "2", "re: 2", "3", "re: 3", "4", "re: 4"][-HISTORY:]
    )
    assert finds.collections == ["conversations"]


def test_what_another_process_appended_is_read_from_the_database(
    database: Any, finds: _Finds
) -> None:
    here, elsewhere = MongoConversationRepository(database), MongoConversationRepository(database)
    cid = here.create(owner="alice", title="t", session=SESSION, messages=_turn("0"), now=T0).id
    assert _read(here, cid) == ["0", "re: 0"]
    elsewhere.append(owner="alice", conversation_id=cid, messages=_turn("1"), now=T0)
    finds.collections.clear()

    assert _read(here, cid) == ["0", "re: 0", "1", "re: 1"]
    assert finds.collections == ["conversations", "messages"]


def test_a_replaced_turn_is_read_again_with_its_alternatives_inactive(database: Any) -> None:
    repository = MongoConversationRepository(database)
    cid = repository.create(
        owner="alice", title="t", session=SESSION, messages=_turn("0"), now=T0
    ).id
    assert _read(repository, cid) == ["0", "re: 0"]
    repository.append(
        owner="alice",
        conversation_id=cid,
        messages=[NewMessage(Role.ASSISTANT, "again")],
        now=T0,
        deactivate=(1, 2),
    )

    context = repository.turn_context(owner="alice", conversation_id=cid, history_messages=HISTORY)
    assert [(m.content, m.inactive) for m in context.messages] == [
        ("0", False),
        ("re: 0", True),
        ("again", False),
    ]


def test_cached_messages_equal_the_stored_ones(database: Any) -> None:
    cached = MongoConversationRepository(database)
    cid = cached.create(owner="alice", title="t", session=SESSION, messages=_turn("0"), now=T0).id
    read = cached.turn_context(owner="alice", conversation_id=cid, history_messages=HISTORY)
    cached.append(owner="alice", conversation_id=cid, messages=_turn("1"), now=T0, read=read.header)

    fresh = MongoConversationRepository(database)  # an empty cache: read from the database
    assert (
        cached.turn_context(owner="alice", conversation_id=cid, history_messages=HISTORY).messages
        == fresh.turn_context(owner="alice", conversation_id=cid, history_messages=HISTORY).messages
    )
