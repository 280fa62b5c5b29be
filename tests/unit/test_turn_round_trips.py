"""TurnRoundTrips keeps its reads and deferred writes per thread, and once."""

from __future__ import annotations

import threading
from typing import Any

from chat_service.adapters.redis.turn_round_trips import DeferredScript, TurnRoundTrips

CALL = DeferredScript(script=Any, keys=["k"], args=[])  # type: ignore[arg-type]


def test_a_write_is_deferred_only_while_the_thread_holds_a_lease() -> None:
    trips = TurnRoundTrips()
    assert not trips.defer(CALL)
    trips.holding()
    assert trips.defer(CALL)
    assert trips.releasing() == [CALL]
    assert trips.releasing() == []  # sent once
    assert not trips.defer(CALL)


def test_another_thread_neither_defers_nor_sends_this_threads_writes() -> None:
    trips = TurnRoundTrips()
    trips.holding()
    trips.defer(CALL)
    seen: list[object] = []

    def elsewhere() -> None:
        seen.append(trips.defer(CALL))
        seen.append(trips.releasing())
        seen.append(trips.take_read("k"))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()

    assert seen == [False, [], (False, None)]
    assert trips.releasing() == [CALL]


def test_a_read_along_is_taken_once_and_only_for_its_key() -> None:
    trips = TurnRoundTrips(lambda: "gen")
    assert trips.key_to_read() == "gen"
    trips.read("gen", b"3")
    assert trips.take_read("other") == (False, None)
    assert trips.take_read("gen") == (True, b"3")
    assert trips.take_read("gen") == (False, None)


def test_a_release_forgets_what_was_read_along() -> None:
    trips = TurnRoundTrips()
    trips.holding()
    trips.read("gen", None)
    trips.releasing()
    assert trips.take_read("gen") == (False, None)
