"""Breakers: closed → open after the configured failures → half-open after the cooldown."""

from __future__ import annotations

import pytest

from chat_service.core.breakers import BreakerBoard, CircuitOpen
from chat_service.core.errors import ModelUnavailable


def _counts(exc: BaseException) -> bool:
    return isinstance(exc, ModelUnavailable)


def _fail():
    raise ModelUnavailable("down")


@pytest.fixture
def board(clock):
    return BreakerBoard(max_failures=3, cooldown_s=30.0, clock=clock.monotonic)


def test_opens_after_the_configured_failures_and_then_fails_fast(board):
    breaker = board.breaker("llm:openai", counts=_counts)
    calls = []

    def failing():
        calls.append(1)
        _fail()

    for _ in range(3):
        assert breaker.state == "closed"
        with pytest.raises(ModelUnavailable):
            breaker.call(failing)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen, match=r"llm:openai is unavailable \(circuit open"):
        breaker.call(failing)
    assert len(calls) == 3  # the open breaker did not call through
    assert board.states() == {"llm:openai": "open"}


def test_half_open_after_the_cooldown_a_successful_probe_closes(board, clock):
    breaker = board.breaker("tool:x", counts=_counts)
    for _ in range(3):
        with pytest.raises(ModelUnavailable):
            breaker.call(_fail)
    clock.advance(29.9)
    assert breaker.state == "open"
    clock.advance(0.2)
    assert breaker.state == "half_open"
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state == "closed"


def test_a_failed_probe_opens_again_for_a_whole_cooldown(board, clock):
    breaker = board.breaker("tool:x", counts=_counts)
    for _ in range(3):
        with pytest.raises(ModelUnavailable):
            breaker.call(_fail)
    clock.advance(31)
    with pytest.raises(ModelUnavailable):
        breaker.call(_fail)
    assert breaker.state == "open"
    clock.advance(29)
    assert breaker.state == "open"
    clock.advance(2)
    assert breaker.state == "half_open"


def test_errors_that_do_not_count_pass_through_and_reset_the_count(board):
    breaker = board.breaker("llm:openai", counts=_counts)
    for _ in range(2):
        with pytest.raises(ModelUnavailable):
            breaker.call(_fail)
    with pytest.raises(ValueError, match="bad request"):
        breaker.call(lambda: (_ for _ in ()).throw(ValueError("bad request")))
    for _ in range(2):
        with pytest.raises(ModelUnavailable):
            breaker.call(_fail)
    assert breaker.state == "closed"


def test_the_board_returns_one_breaker_per_name_and_reports_all_states(board):
    first = board.breaker("b", counts=_counts)
    assert board.breaker("b", counts=_counts) is first
    board.breaker("a", counts=_counts)
    assert board.states() == {"a": "closed", "b": "closed"}


def test_listeners_hear_each_change_of_state_in_order(board, clock):
    heard = []
    board.add_listener(lambda name, state: heard.append((name, state)))
    breaker = board.breaker("llm:openai", counts=_counts)
    for _ in range(3):
        with pytest.raises(ModelUnavailable):
            breaker.call(_fail)
    with pytest.raises(CircuitOpen):
        breaker.call(_fail)
    clock.advance(30.0)
    with pytest.raises(ModelUnavailable):
        breaker.call(_fail)  # the probe fails: open again
    clock.advance(30.0)
    assert breaker.call(lambda: "fine") == "fine"
    assert breaker.call(lambda: "again") == "again"
    assert heard == [
        ("llm:openai", "open"),
        ("llm:openai", "half_open"),
        ("llm:openai", "open"),
        ("llm:openai", "half_open"),
        ("llm:openai", "closed"),
    ]
