"""MongoIdempotencyStore against the Mongo-protocol server, and receipts inside turn transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.idempotency import MongoIdempotencyStore
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.core.errors import TurnConflict
from chat_service.core.models import NewMessage, Role, SessionInfo, Summary, ToolCall
from chat_service.ports.idempotency import Claim, ClaimState, Receipt, TurnOutcome
from migrations import apply_all
from tests.fakes.memory_idempotency import InMemoryIdempotencyStore
from tests.fakes.memory_repository import InMemoryConversationRepository

T0 = datetime(2026, 4, 1, tzinfo=UTC)
LEASE, TTL = timedelta(minutes=5), timedelta(hours=24)
PAIR = [NewMessage(Role.USER, "q"), NewMessage(Role.ASSISTANT, "a")]
TOOL_TURN = [
    NewMessage(Role.USER, "weather?"),
    NewMessage(Role.ASSISTANT, "", tool_calls=(ToolCall("c1", "get_weather", "{}"),)),
    NewMessage(Role.TOOL, '{"t": 20}', tool_call_id="c1", tool_name="get_weather"),
    NewMessage(Role.ASSISTANT, "20 °C."),
]


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    database = client[mongo_database_name]
    apply_all(database)
    yield database
    client.close()


@pytest.fixture(params=["mongo", "memory"])
def stores(request):
    """An idempotency store and a repository whose receipts complete its records."""
    if request.param == "memory":
        store = InMemoryIdempotencyStore()
        return store, InMemoryConversationRepository(idempotency=store)
    database = request.getfixturevalue("database")
    return MongoIdempotencyStore(database), MongoConversationRepository(database)


def claim(store, token, *, fingerprint="f", now=T0):
    return store.claim(
        Claim("record", token, "o"), fingerprint=fingerprint, now=now, lease=LEASE, ttl=TTL
    )


def create(repository, receipt=None):
    return repository.create(
        owner="o", title="t", session=SessionInfo(), messages=PAIR, now=T0, receipt=receipt
    )


def test_first_claim_wins_and_a_completed_record_replays_its_outcome(stores):
    store, repository = stores
    assert claim(store, "a") is ClaimState.CLAIMED
    assert claim(store, "b") is ClaimState.PENDING
    assert claim(store, "b", fingerprint="other") is ClaimState.MISMATCH
    conversation = create(repository, Receipt(Claim("record", "a", "o"), "the reply", "A Title"))
    assert claim(store, "c") == TurnOutcome(conversation.id, "the reply", "A Title", False)


def test_a_released_claim_can_be_claimed_again(stores):
    store, _ = stores
    assert claim(store, "a") is ClaimState.CLAIMED
    store.release(Claim("record", "a", "o"))
    assert claim(store, "b") is ClaimState.CLAIMED


def test_a_claim_past_its_lease_is_taken_over_and_the_old_holder_cannot_commit(stores):
    store, repository = stores
    assert claim(store, "crashed") is ClaimState.CLAIMED
    assert claim(store, "new", now=T0 + LEASE + timedelta(seconds=1)) is ClaimState.CLAIMED
    with pytest.raises(TurnConflict):
        create(repository, Receipt(Claim("record", "crashed", "o"), "late reply"))
    assert repository.list_conversations(owner="o", page_size=10, page_token="").conversations == ()
    create(repository, Receipt(Claim("record", "new", "o"), "reply"))


def test_an_append_receipt_is_recorded_with_the_pair(stores):
    store, repository = stores
    conversation = create(repository)
    assert claim(store, "a") is ClaimState.CLAIMED
    repository.append(
        owner="o",
        conversation_id=conversation.id,
        messages=PAIR,
        now=T0,
        receipt=Receipt(Claim("record", "a", "o"), "second reply"),
    )
    assert claim(store, "b") == TurnOutcome(conversation.id, "second reply")
    with pytest.raises(TurnConflict):  # the record is done: the receipt cannot complete twice
        repository.append(
            owner="o",
            conversation_id=conversation.id,
            messages=PAIR,
            now=T0,
            receipt=Receipt(Claim("record", "a", "o"), "again"),
        )
    assert repository.get(owner="o", conversation_id=conversation.id).message_count == 4


def test_a_fenced_tool_turn_stores_its_group_summary_and_receipt_together_or_not_at_all(stores):
    store, repository = stores
    conversation = create(repository)
    assert claim(store, "a") is ClaimState.CLAIMED

    def append(token, expected_count):
        repository.append(
            owner="o",
            conversation_id=conversation.id,
            messages=TOOL_TURN,
            now=T0,
            summary=Summary("They said hello.", first_seq=0, end_seq=2),
            expected_count=expected_count,
            receipt=Receipt(Claim("record", token, "o"), "20 °C."),
        )

    with pytest.raises(TurnConflict):  # another turn moved the conversation on meanwhile
        append("a", expected_count=1)
    assert repository.latest_summary(conversation_id=conversation.id) is None
    assert repository.get(owner="o", conversation_id=conversation.id).message_count == 2
    assert claim(store, "b") is ClaimState.PENDING  # still running, not completed

    append("a", expected_count=2)
    stored = repository.recent_messages(owner="o", conversation_id=conversation.id, limit=10)
    assert [(m.role, m.tool_name) for m in stored[2:]] == [
        (Role.USER, ""),
        (Role.ASSISTANT, ""),
        (Role.TOOL, "get_weather"),
        (Role.ASSISTANT, ""),
    ]
    assert repository.latest_summary(conversation_id=conversation.id) == Summary(
        "They said hello.", 0, 2
    )
    assert claim(store, "b") == TurnOutcome(conversation.id, "20 °C.")


def test_records_expire(stores):
    store, repository = stores
    assert claim(store, "a") is ClaimState.CLAIMED
    create(repository, Receipt(Claim("record", "a", "o"), "reply"))
    assert claim(store, "b", now=T0 + TTL) is ClaimState.CLAIMED


def test_the_collection_has_a_ttl_index(database):
    assert (
        database.idempotency_keys.index_information()["expires_at_ttl"]["expireAfterSeconds"] == 0
    )


def test_a_record_stored_before_records_named_their_owner_still_replays(database):
    store = MongoIdempotencyStore(database)
    outcome = TurnOutcome(conversation_id="c1", reply="r", title="t", new_conversation=True)
    database.idempotency_keys.insert_one(
        {
            "_id": "record",
            "fingerprint": "f",
            "state": "done",
            "claim": "old",
            "lease_until": T0,
            "expires_at": T0 + TTL,
            "outcome": {
                "conversation_id": "c1",
                "reply": "r",
                "title": "t",
                "new_conversation": True,
            },
        }
    )

    assert claim(store, "new") == outcome
    assert database.idempotency_keys.find_one({"_id": "record"})["owner"] == "o"
