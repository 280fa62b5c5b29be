"""HistoryCache: an entry answers for exactly its message count and the range it holds."""

from __future__ import annotations

from datetime import UTC, datetime

from chat_service.adapters.mongo.history_cache import HistoryCache
from chat_service.core.models import Message, Role

T0 = datetime(2026, 12, 4, tzinfo=UTC)


def _messages(first: int, end: int) -> list[Message]:
    return [
        Message(
            id=f"m{n}", conversation_id="c", seq=n, role=Role.USER, content=f"{n}", created_at=T0
        )
        for n in range(first, end)
    ]


def test_an_entry_answers_its_own_count_and_any_range_it_holds() -> None:
    cache = HistoryCache()
    cache.put("c", count=6, first_seq=2, messages=_messages(2, 6))

    assert cache.get("c", count=6, first_seq=4) == _messages(4, 6)
    assert cache.get("c", count=6, first_seq=1) is None  # not held
    assert cache.get("c", count=8, first_seq=4) is None  # the conversation moved on
    assert cache.get("other", count=6, first_seq=4) is None


def test_an_append_extends_the_entry_of_the_count_it_followed() -> None:
    cache = HistoryCache()
    cache.put("c", count=2, first_seq=0, messages=_messages(0, 2))
    cache.appended("c", before=2, added=_messages(2, 4))
    assert cache.get("c", count=4, first_seq=0) == _messages(0, 4)

    cache.appended("c", before=7, added=_messages(7, 9))  # after turns it did not see
    assert cache.get("c", count=9, first_seq=7) is None
    assert cache.get("c", count=4, first_seq=0) is None


def test_a_range_that_is_not_whole_is_not_held() -> None:
    cache = HistoryCache()
    cache.put("c", count=6, first_seq=0, messages=_messages(0, 7))  # read past the count
    assert cache.get("c", count=6, first_seq=0) is None


def test_the_least_recently_used_conversation_and_the_oldest_messages_go_first() -> None:
    cache = HistoryCache(conversations=2, messages=3)
    cache.put("a", count=5, first_seq=0, messages=_messages(0, 5))
    cache.put("b", count=1, first_seq=0, messages=_messages(0, 1))
    assert cache.get("a", count=5, first_seq=2) == _messages(2, 5)
    assert cache.get("a", count=5, first_seq=1) is None  # only the last 3 are kept
    cache.put("c", count=1, first_seq=0, messages=_messages(0, 1))

    assert cache.get("b", count=1, first_seq=0) is None  # "a" was used since
    assert cache.get("a", count=5, first_seq=3) == _messages(3, 5)


def test_forget_drops_the_entry() -> None:
    cache = HistoryCache()
    cache.put("c", count=1, first_seq=0, messages=_messages(0, 1))
    cache.forget("c")
    assert cache.get("c", count=1, first_seq=0) is None


def test_the_text_held_in_all_stays_under_its_bound() -> None:
    cache = HistoryCache(max_chars=10)
    cache.put("a", count=4, first_seq=0, messages=_messages(0, 4))  # "0".."3": 4 characters
    cache.put("b", count=12, first_seq=8, messages=_messages(8, 12))  # 1 + 1 + 2 + 2 = 6
    assert cache.get("a", count=4, first_seq=0) is not None
    cache.put("c", count=11, first_seq=10, messages=_messages(10, 11))  # 2 more: 12 > 10

    assert cache.get("b", count=12, first_seq=8) is None  # "a" was used since
    assert cache.get("a", count=4, first_seq=0) == _messages(0, 4)
    assert cache.get("c", count=11, first_seq=10) == _messages(10, 11)


def test_a_cache_without_room_holds_nothing() -> None:
    cache = HistoryCache(max_chars=0)
    cache.put("c", count=1, first_seq=0, messages=_messages(0, 1))
    assert cache.get("c", count=1, first_seq=0) is None
