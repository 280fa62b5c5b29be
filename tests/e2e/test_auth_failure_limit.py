"""Wrong-key guessing is slowed: failed authentications are limited per client address, in
front of the key check, and two app instances sharing Redis enforce one limit.

The apps trust 127.0.0.1 as a proxy, so each test names its own client address in
X-Forwarded-For: the buckets of other tests (and of other apps of the run) stay apart.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pymongo
import pytest
import requests
from twirp.context import Context
from twirp.exceptions import TwirpServerException

import migrations
from chat_service.composition.app import create_app
from chat_service.config import Secret, Settings
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests import canaries
from tests.e2e.conftest import ROUTE
from tests.fakes.uvicorn_thread import serve

LIMIT, WINDOW_S = 10, 60.0  # failed authentications per window, per client address
BURST = 100


@pytest.fixture(scope="module")
def apps(redis_url, mongo_uri):
    """Two instances of one service (API_KEY set) behind a proxy on loopback; their URLs."""
    settings = Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"e2e_auth_failures_{uuid.uuid4().hex[:12]}",
        api_key=Secret(canaries.API_KEY),
        trusted_proxies="127.0.0.1",
        api_rate_limit_rps=0,  # only the failed-authentication limit is under test
        auth_failure_limit=LIMIT,
        auth_failure_window_s=WINDOW_S,
    )
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        with serve(create_app(settings)) as first, serve(create_app(settings)) as second:
            yield [first, second]
        client.drop_database(settings.mongo_database)


def _client_address() -> str:
    """A made-up client address of its own (IPv6 clients are limited per /64)."""
    digits = uuid.uuid4().hex
    return f"2001:db8:{digits[:4]}:{digits[4:8]}::7"


def _wrong_key(number: int) -> str:
    return f"acai_guess-{number:04d}-{uuid.uuid4().hex}"


def _call(url: str, key: str, address: str) -> str:
    """ListConversations through the generated client; returns "ok" or the Twirp error code."""
    headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": address}
    client = ChatServiceClient(url, timeout=30)
    try:
        client.ListConversations(
            ctx=Context(headers=headers), request=pb.ListConversationsRequest()
        )
    except TwirpServerException as exc:
        return str(exc.code.value)
    return "ok"


def _allowed_failures(elapsed_s: float) -> int:
    """The failures one address may have answered 401 in `elapsed_s`: the limit, plus what
    refilled meanwhile (one every WINDOW_S / LIMIT seconds)."""
    return LIMIT + int(elapsed_s * LIMIT / WINDOW_S)


def test_a_burst_of_wrong_keys_is_refused_after_the_limit_across_two_instances(apps):
    address = _client_address()
    began = time.monotonic()
    answers = [_call(apps[n % 2], _wrong_key(n), address) for n in range(BURST)]
    elapsed_s = time.monotonic() - began

    assert answers[:LIMIT] == ["unauthenticated"] * LIMIT
    assert set(answers[LIMIT:]) <= {"unauthenticated", "resource_exhausted"}
    assert answers.count("unauthenticated") <= _allowed_failures(elapsed_s), answers
    # Refused before the key is checked: the right key from that address waits too (or a
    # guesser could tell a right guess by its answer), while other addresses are served.
    assert _call(apps[0], canaries.API_KEY, address) == "resource_exhausted"
    assert _call(apps[1], canaries.API_KEY, _client_address()) == "ok"

    refused = requests.post(
        apps[1] + ROUTE + "ListConversations",
        json={},
        headers={"X-API-Key": _wrong_key(BURST), "X-Forwarded-For": address},
        timeout=10,
    )
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_S
    assert refused.json() == {
        "code": "resource_exhausted",
        "msg": "too many failed authentications from this address; retry later",
        "meta": {"limit": "auth_failures", "retry_after": str(retry_after)},
    }


def test_successful_authentications_are_not_counted(apps):
    address = _client_address()
    began = time.monotonic()
    failures = [_call(apps[n % 2], _wrong_key(n), address) for n in range(LIMIT - 1)]
    successes = [_call(apps[n % 2], canaries.API_KEY, address) for n in range(3 * LIMIT)]
    last_failure = _call(apps[0], _wrong_key(LIMIT), address)
    over = [_call(apps[n % 2], _wrong_key(n), address) for n in range(3)]
    elapsed_s = time.monotonic() - began

    assert failures == ["unauthenticated"] * (LIMIT - 1)
    assert successes == ["ok"] * (3 * LIMIT)
    assert last_failure == "unauthenticated"
    assert over.count("resource_exhausted") >= 3 - (_allowed_failures(elapsed_s) - LIMIT)


def test_a_concurrent_burst_of_wrong_keys_is_refused_too(apps):
    address, concurrency = _client_address(), 10
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        answers = list(pool.map(lambda n: _call(apps[n % 2], _wrong_key(n), address), range(BURST)))
    elapsed_s = time.monotonic() - began

    assert set(answers) <= {"unauthenticated", "resource_exhausted"}
    # Requests already past the check when the limit was reached may still be answered 401.
    assert answers.count("unauthenticated") <= _allowed_failures(elapsed_s) + concurrency, answers
