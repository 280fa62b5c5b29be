"""The ConversationRepository contract, run against the Mongo adapter and the in-memory fake."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pymongo
import pytest

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.repository import MongoConversationRepository
from chat_service.core.errors import ConversationNotFound, StorageUnavailable, TurnConflict
from chat_service.core.models import Conversation, NewMessage, Role, SessionInfo, is_conversation_id
from chat_service.ports.repository import ConversationRepository, InvalidPageToken
from migrations import apply_all
from tests.fakes.memory_repository import InMemoryConversationRepository

T0 = datetime(2025, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
SESSION = SessionInfo(platform="telegram", user_id="u1", chat_id="c1")
MISSING_ID = "0123456789abcdef01234567"


def turn(text: str) -> list[NewMessage]:
    return [NewMessage(Role.USER, f"{text}?"), NewMessage(Role.ASSISTANT, f"{text}!")]


@pytest.fixture(params=["memory", "mongo"])
def repository(request: pytest.FixtureRequest) -> Iterator[ConversationRepository]:
    if request.param == "memory":
        yield InMemoryConversationRepository()
        return
    uri: str = request.getfixturevalue("mongo_uri")
    client = connect_mongo(uri, timeout_ms=5000)
    database = client[request.getfixturevalue("mongo_database_name")]
    apply_all(database)
    yield MongoConversationRepository(database)
    client.close()


@pytest.fixture(params=["memory", "mongo"])
def unreachable_repository(request: pytest.FixtureRequest) -> Iterator[ConversationRepository]:
    if request.param == "memory":
        fake = InMemoryConversationRepository()
        fake.unavailable = True
        yield fake
        return
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = connect_mongo(f"mongodb://127.0.0.1:{port}", timeout_ms=200)
    yield MongoConversationRepository(client["unreachable"])
    client.close()


def create(repository: ConversationRepository, *, owner: str = "alice", now: datetime = T0):
    return repository.create(
        owner=owner, title="Weather", session=SESSION, messages=turn("hi"), now=now
    )


def test_create_returns_what_get_reads_back(repository: ConversationRepository) -> None:
    paris_time = T0.astimezone(timezone(timedelta(hours=1)))
    created = create(repository, now=paris_time)

    assert is_conversation_id(created.id)
    assert created.created_at == created.updated_at == T0.replace(microsecond=678_000)
    assert created.created_at.utcoffset() == timedelta(0)
    assert (created.owner, created.title, created.session) == ("alice", "Weather", SESSION)
    assert created.message_count == 2
    assert repository.get(owner="alice", conversation_id=created.id) == created


def test_create_stores_the_first_messages_numbered_from_zero(
    repository: ConversationRepository,
) -> None:
    created = create(repository)

    messages = repository.recent_messages(owner="alice", conversation_id=created.id, limit=10)

    assert [(m.seq, m.role, m.content) for m in messages] == [
        (0, Role.USER, "hi?"),
        (1, Role.ASSISTANT, "hi!"),
    ]
    assert all(m.conversation_id == created.id for m in messages)
    assert all(m.created_at == created.created_at for m in messages)
    assert len({m.id for m in messages}) == 2


def test_create_without_messages(repository: ConversationRepository) -> None:
    created = repository.create(owner="alice", title="", session=SESSION, messages=[], now=T0)

    assert created.message_count == 0
    assert repository.recent_messages(owner="alice", conversation_id=created.id, limit=5) == []


def test_another_owner_sees_nothing(repository: ConversationRepository) -> None:
    created = create(repository, owner="alice")

    with pytest.raises(ConversationNotFound):
        repository.get(owner="mallory", conversation_id=created.id)
    with pytest.raises(ConversationNotFound):
        repository.append(owner="mallory", conversation_id=created.id, messages=turn("x"), now=T0)
    with pytest.raises(ConversationNotFound):
        repository.recent_messages(owner="mallory", conversation_id=created.id, limit=5)
    with pytest.raises(ConversationNotFound):
        repository.list_messages(
            owner="mallory", conversation_id=created.id, page_size=5, page_token=""
        )
    page = repository.list_conversations(owner="mallory", page_size=10, page_token="")
    assert page.conversations == ()
    assert repository.get(owner="alice", conversation_id=created.id).message_count == 2


def test_append_numbers_messages_after_the_last(repository: ConversationRepository) -> None:
    created = create(repository)
    later = T0 + timedelta(minutes=5)

    updated = repository.append(
        owner="alice", conversation_id=created.id, messages=turn("again"), now=later
    )

    assert updated.message_count == 4
    assert updated.updated_at == later.replace(microsecond=678_000)
    assert updated.created_at == created.created_at
    assert repository.get(owner="alice", conversation_id=created.id) == updated
    messages = repository.recent_messages(owner="alice", conversation_id=created.id, limit=10)
    assert [(m.seq, m.content) for m in messages] == [
        (0, "hi?"),
        (1, "hi!"),
        (2, "again?"),
        (3, "again!"),
    ]


def test_append_never_moves_updated_at_back(repository: ConversationRepository) -> None:
    created = create(repository)

    updated = repository.append(
        owner="alice", conversation_id=created.id, messages=turn("x"), now=T0 - timedelta(days=1)
    )

    assert updated.updated_at == created.updated_at


def test_append_nothing_changes_nothing(repository: ConversationRepository) -> None:
    created = create(repository)

    unchanged = repository.append(
        owner="alice", conversation_id=created.id, messages=[], now=T0 + timedelta(hours=1)
    )

    assert unchanged == created


def test_append_at_the_expected_count_only(repository: ConversationRepository) -> None:
    conversation = create(repository)
    repository.append(
        owner="alice", conversation_id=conversation.id, messages=turn("a"), now=T0, expected_count=2
    )
    with pytest.raises(TurnConflict):
        repository.append(
            owner="alice",
            conversation_id=conversation.id,
            messages=turn("b"),
            now=T0,
            expected_count=2,
        )
    with pytest.raises(ConversationNotFound):
        repository.append(
            owner="mallory",
            conversation_id=conversation.id,
            messages=turn("c"),
            now=T0,
            expected_count=4,
        )
    assert repository.get(owner="alice", conversation_id=conversation.id).message_count == 4


def test_append_to_a_missing_conversation(repository: ConversationRepository) -> None:
    with pytest.raises(ConversationNotFound):
        repository.append(owner="alice", conversation_id=MISSING_ID, messages=turn("x"), now=T0)


def test_recent_messages_returns_the_last_ones_oldest_first(
    repository: ConversationRepository,
) -> None:
    created = create(repository)
    for i in range(4):
        repository.append(owner="alice", conversation_id=created.id, messages=turn(f"{i}"), now=T0)

    assert [
        m.seq
        for m in repository.recent_messages(owner="alice", conversation_id=created.id, limit=3)
    ] == [
        7,
        8,
        9,
    ]
    assert (
        len(repository.recent_messages(owner="alice", conversation_id=created.id, limit=100)) == 10
    )
    assert repository.recent_messages(owner="alice", conversation_id=created.id, limit=0) == []
    with pytest.raises(ConversationNotFound):
        repository.recent_messages(owner="alice", conversation_id=MISSING_ID, limit=3)


def test_paging_through_conversations_newest_first(repository: ConversationRepository) -> None:
    for i in range(45):
        create(repository, now=T0 + timedelta(seconds=i))
    create(repository, owner="bob")

    pages = []
    token = ""
    while True:
        page = repository.list_conversations(owner="alice", page_size=20, page_token=token)
        pages.append(page.conversations)
        token = page.next_token
        if not token:
            break

    assert [len(p) for p in pages] == [20, 20, 5]
    listed = [c for p in pages for c in p]
    assert len({c.id for c in listed}) == 45
    assert [c.created_at for c in listed] == sorted((c.created_at for c in listed), reverse=True)
    assert {c.owner for c in listed} == {"alice"}


def test_paging_through_conversations_created_at_the_same_time(
    repository: ConversationRepository,
) -> None:
    created = [create(repository, now=T0) for _ in range(5)]

    listed: list[Conversation] = []
    token = ""
    for _ in range(5):
        page = repository.list_conversations(owner="alice", page_size=2, page_token=token)
        listed += page.conversations
        token = page.next_token
        if not token:
            break

    assert [c.id for c in listed] == [c.id for c in reversed(created)]


def test_paging_through_messages_oldest_first(repository: ConversationRepository) -> None:
    created = create(repository)
    for i in range(11):
        repository.append(owner="alice", conversation_id=created.id, messages=turn(f"{i}"), now=T0)

    pages = []
    token = ""
    while True:
        page = repository.list_messages(
            owner="alice", conversation_id=created.id, page_size=10, page_token=token
        )
        pages.append(page.messages)
        token = page.next_token
        if not token:
            break

    assert [len(p) for p in pages] == [10, 10, 4]
    assert [m.seq for p in pages for m in p] == list(range(24))


def test_an_exact_last_page_has_no_next_token(repository: ConversationRepository) -> None:
    created = create(repository)
    create(repository)

    conversations = repository.list_conversations(owner="alice", page_size=2, page_token="")
    messages = repository.list_messages(
        owner="alice", conversation_id=created.id, page_size=2, page_token=""
    )

    assert (len(conversations.conversations), conversations.next_token) == (2, "")
    assert (len(messages.messages), messages.next_token) == (2, "")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


BAD_TOKENS = [
    "not a token!",
    "%%%%",
    _b64(b"not json"),
    _b64(b"[1, 2]"),
    _b64(b'{"s": -1}'),
    _b64(b'{"s": true}'),
    _b64(b'{"s": "3"}'),
    _b64(b'{"s": 3, "x": 1}'),
    _b64(b'{"s": 3}'),  # a valid cursor spelt differently from the tokens we issue
    _b64(b'{"t":1,"i":"zz"}'),
    _b64(b'{"t":99999999999999999,"i":"0123456789abcdef01234567"}'),
    _b64(b'{"t":1.5,"i":"0123456789abcdef01234567"}'),
    "A" * 1000,
]


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_list_conversations_rejects_tokens_it_did_not_issue(
    repository: ConversationRepository, token: str
) -> None:
    with pytest.raises(InvalidPageToken):
        repository.list_conversations(owner="alice", page_size=5, page_token=token)


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_list_messages_rejects_tokens_it_did_not_issue(
    repository: ConversationRepository, token: str
) -> None:
    created = create(repository)
    with pytest.raises(InvalidPageToken):
        repository.list_messages(
            owner="alice", conversation_id=created.id, page_size=5, page_token=token
        )


def test_tokens_of_one_list_are_invalid_for_the_other(repository: ConversationRepository) -> None:
    created = create(repository)
    create(repository)
    for i in range(3):
        repository.append(owner="alice", conversation_id=created.id, messages=turn(f"{i}"), now=T0)
    conversation_token = repository.list_conversations(
        owner="alice", page_size=1, page_token=""
    ).next_token
    message_token = repository.list_messages(
        owner="alice", conversation_id=created.id, page_size=1, page_token=""
    ).next_token

    with pytest.raises(InvalidPageToken):
        repository.list_conversations(owner="alice", page_size=1, page_token=message_token)
    with pytest.raises(InvalidPageToken):
        repository.list_messages(
            owner="alice", conversation_id=created.id, page_size=1, page_token=conversation_token
        )


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        "abc",
        "0" * 23,
        "0" * 25,
        "g" * 24,
        "0123456789ABCDEF01234567",
        "$where",
        "0" * 24 + "\n",
    ],
)
def test_malformed_ids_are_not_found(repository: ConversationRepository, bad_id: str) -> None:
    with pytest.raises(ConversationNotFound):
        repository.get(owner="alice", conversation_id=bad_id)
    with pytest.raises(ConversationNotFound):
        repository.append(owner="alice", conversation_id=bad_id, messages=turn("x"), now=T0)
    with pytest.raises(ConversationNotFound):
        repository.recent_messages(owner="alice", conversation_id=bad_id, limit=5)
    with pytest.raises(ConversationNotFound):
        repository.list_messages(owner="alice", conversation_id=bad_id, page_size=5, page_token="")


def test_page_size_must_be_positive(repository: ConversationRepository) -> None:
    created = create(repository)
    with pytest.raises(ValueError, match="page_size"):
        repository.list_conversations(owner="alice", page_size=0, page_token="")
    with pytest.raises(ValueError, match="page_size"):
        repository.list_messages(
            owner="alice", conversation_id=created.id, page_size=0, page_token=""
        )


def test_concurrent_appends_get_consecutive_seqs(repository: ConversationRepository) -> None:
    created = repository.create(owner="alice", title="", session=SESSION, messages=[], now=T0)
    start = threading.Barrier(50)
    errors: list[BaseException] = []

    def append_one_turn(n: int) -> None:
        start.wait()
        try:
            repository.append(
                owner="alice", conversation_id=created.id, messages=turn(f"t{n}"), now=T0
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append_one_turn, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    messages = repository.recent_messages(owner="alice", conversation_id=created.id, limit=1000)
    assert [m.seq for m in messages] == list(range(100))
    for user, assistant in zip(messages[::2], messages[1::2], strict=True):
        assert (user.role, assistant.role) == (Role.USER, Role.ASSISTANT)
        assert user.content[:-1] == assistant.content[:-1]
    assert repository.get(owner="alice", conversation_id=created.id).message_count == 100


def test_an_unreachable_store_raises_storage_unavailable(
    unreachable_repository: ConversationRepository,
) -> None:
    repository = unreachable_repository
    calls = [
        lambda: repository.ping(),
        lambda: create(repository),
        lambda: repository.append(
            owner="alice", conversation_id=MISSING_ID, messages=turn("x"), now=T0
        ),
        lambda: repository.get(owner="alice", conversation_id=MISSING_ID),
        lambda: repository.recent_messages(owner="alice", conversation_id=MISSING_ID, limit=3),
        lambda: repository.list_conversations(owner="alice", page_size=5, page_token=""),
        lambda: repository.list_messages(
            owner="alice", conversation_id=MISSING_ID, page_size=5, page_token=""
        ),
    ]

    def error_of(call: Callable[[], object]) -> BaseException | None:
        try:
            call()
        except BaseException as exc:
            return exc
        return None

    # In parallel: against Mongo each call waits out its server selection timeout.
    with ThreadPoolExecutor(len(calls)) as pool:
        errors = list(pool.map(error_of, calls))

    assert all(isinstance(error, StorageUnavailable) for error in errors), errors
    if isinstance(repository, MongoConversationRepository):
        assert all(isinstance(e.__cause__, pymongo.errors.PyMongoError) for e in errors if e)


def test_delete_removes_the_conversation_and_its_messages(
    repository: ConversationRepository,
) -> None:
    kept = create(repository)
    gone = create(repository)
    repository.append(owner="alice", conversation_id=gone.id, messages=turn("more"), now=T0)

    assert repository.delete(owner="alice", conversation_id=gone.id, now=T0) is True

    with pytest.raises(ConversationNotFound):
        repository.get(owner="alice", conversation_id=gone.id)
    with pytest.raises(ConversationNotFound):
        repository.list_messages(
            owner="alice", conversation_id=gone.id, page_size=10, page_token=""
        )
    with pytest.raises(ConversationNotFound):
        repository.append(owner="alice", conversation_id=gone.id, messages=turn("x"), now=T0)
    listed = repository.list_conversations(owner="alice", page_size=10, page_token="")
    assert [c.id for c in listed.conversations] == [kept.id]
    assert repository.get(owner="alice", conversation_id=kept.id).message_count == 2


def test_deleting_twice_is_not_an_error(repository: ConversationRepository) -> None:
    created = create(repository)
    assert repository.delete(owner="alice", conversation_id=created.id, now=T0) is True
    assert repository.delete(owner="alice", conversation_id=created.id, now=T0) is False


def test_delete_of_another_owners_or_a_missing_conversation_is_not_found(
    repository: ConversationRepository,
) -> None:
    created = create(repository, owner="alice")
    for owner, conversation_id in (("mallory", created.id), ("alice", MISSING_ID)):
        with pytest.raises(ConversationNotFound):
            repository.delete(owner=owner, conversation_id=conversation_id, now=T0)
    repository.delete(owner="alice", conversation_id=created.id, now=T0)
    with pytest.raises(ConversationNotFound):  # nor is someone else's deleted one "already gone"
        repository.delete(owner="mallory", conversation_id=created.id, now=T0)
    listed = repository.list_conversations(owner="mallory", page_size=10, page_token="")
    assert listed.conversations == ()


def test_rename_sets_the_title_for_the_owner_only(repository: ConversationRepository) -> None:
    created = create(repository)
    later = T0 + timedelta(minutes=5)

    renamed = repository.update(
        owner="alice", conversation_id=created.id, title="Trip to Lisbon", now=later
    )

    assert (renamed.title, renamed.message_count) == ("Trip to Lisbon", 2)
    assert renamed.updated_at > created.updated_at
    assert repository.get(owner="alice", conversation_id=created.id).title == "Trip to Lisbon"
    with pytest.raises(ConversationNotFound):
        repository.update(owner="mallory", conversation_id=created.id, title="mine", now=later)
    assert repository.get(owner="alice", conversation_id=created.id).title == "Trip to Lisbon"


def test_alternatives_are_marked_inactive_and_the_last_turn_is_found_past_them(
    repository: ConversationRepository,
) -> None:
    created = create(repository)  # "hi?" "hi!"
    later = T0 + timedelta(minutes=1)
    # 30 regenerated replies: the last user message lies past the first window read.
    for version in range(2, 32):
        header = repository.get(owner="alice", conversation_id=created.id)
        repository.append(
            owner="alice",
            conversation_id=created.id,
            messages=[NewMessage(Role.ASSISTANT, f"take {version}", version=version)],
            now=later,
            deactivate=(header.message_count - 1, header.message_count),
        )

    tail = repository.last_turn(owner="alice", conversation_id=created.id)
    history = repository.recent_messages(
        owner="alice", conversation_id=created.id, limit=10, before_seq=1
    )

    assert [m.content for m in tail][:2] == ["hi?", "hi!"]
    assert len(tail) == 32
    assert [m.inactive for m in tail] == [False] + [True] * 30 + [False]
    assert (tail[-1].content, tail[-1].version) == ("take 31", 31)
    assert [m.content for m in history] == ["hi?"]
    with pytest.raises(ConversationNotFound):
        repository.last_turn(owner="alice", conversation_id=MISSING_ID)
    with pytest.raises(ConversationNotFound):
        repository.last_turn(owner="mallory", conversation_id=created.id)
