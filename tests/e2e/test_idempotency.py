"""Idempotency keys end to end: retried and redelivered requests answer once and store once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.test_response_cache import _is_title_request


def _reply_requests(fake_openai) -> int:
    return sum(not _is_title_request(r) for r in fake_openai.requests)


def test_concurrent_and_later_repeats_of_a_continue_get_one_answer_and_one_pair(rpc, fake_openai):
    cid = rpc("StartConversation", {"message": "idempotent topic"}).json()["conversation_id"]
    fake_openai.reset()
    fake_openai.latency_s = 0.3  # the repeats arrive while the first is still running
    body = {
        "conversation_id": cid,
        "message": "charge me once",
        "idempotency_key": uuid.uuid4().hex,
    }

    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(lambda _: rpc("ContinueConversation", body), range(5)))
    later = rpc("ContinueConversation", body)

    assert {r.status_code for r in [*responses, later]} == {200}
    assert len({r.text for r in [*responses, later]}) == 1
    assert _reply_requests(fake_openai) == 1
    described = rpc("DescribeConversation", {"conversation_id": cid}).json()
    assert [m["content"] for m in described["conversation"]["messages"]] == [
        "idempotent topic",
        "echo: idempotent topic",
        "charge me once",
        "echo: charge me once",
    ]


def test_a_repeated_start_returns_the_same_conversation(rpc, fake_openai):
    body = {"message": "start once", "idempotencyKey": uuid.uuid4().hex}
    first, second = rpc("StartConversation", body).json(), rpc("StartConversation", body).json()
    assert first == second
    assert _reply_requests(fake_openai) == 1


def test_a_key_reused_for_another_message_is_invalid_argument(rpc):
    key = uuid.uuid4().hex
    assert rpc("StartConversation", {"message": "one", "idempotency_key": key}).status_code == 200
    reused = rpc("StartConversation", {"message": "two", "idempotency_key": key})
    assert reused.status_code == 400
    assert reused.json()["meta"] == {"argument": "idempotency_key"}
