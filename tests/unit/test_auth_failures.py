"""The failed-authentication limit: the in-memory GCRA and the middleware in front of the
authentication, on a small Starlette app (no sockets)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chat_service.adapters.memory.auth_failures import MemoryAuthFailureLimiter
from chat_service.core.api_keys import key_digest, new_api_key
from chat_service.core.authentication import Authenticator
from chat_service.edge.client_identity import TrustedProxies
from chat_service.edge.middleware.auth import AuthMiddleware
from chat_service.edge.middleware.auth_failures import AuthFailureLimitMiddleware
from tests.fakes.memory_api_keys import MemoryApiKeyStore

LIMIT, WINDOW_S = 3, 30.0


def test_the_memory_limiter_admits_the_limit_then_one_per_interval(clock):
    limiter = MemoryAuthFailureLimiter(limit=LIMIT, window_s=WINDOW_S, clock=clock.monotonic)

    async def fail_until_refused() -> int:
        failures = 0
        while await limiter.retry_after_s("a") == 0:
            await limiter.record_failure("a")
            failures += 1
        return failures

    assert asyncio.run(fail_until_refused()) == LIMIT
    assert asyncio.run(limiter.retry_after_s("a")) == pytest.approx(WINDOW_S / LIMIT)
    assert asyncio.run(limiter.retry_after_s("b")) == 0
    clock.advance(WINDOW_S / LIMIT)
    assert asyncio.run(fail_until_refused()) == 1


def test_the_memory_limiter_drops_the_oldest_addresses_beyond_its_cap(clock):
    limiter = MemoryAuthFailureLimiter(limit=1, window_s=60, max_addresses=2, clock=clock.monotonic)
    for address in ("a", "b", "c"):
        asyncio.run(limiter.record_failure(address))
    waits = [asyncio.run(limiter.retry_after_s(a)) for a in ("a", "b", "c")]
    assert waits[0] == 0
    assert min(waits[1:]) > 0


async def whoami(request):
    return JSONResponse({"owner": request.scope["state"].get("owner")})


@pytest.fixture
def setup():
    store = MemoryApiKeyStore()
    key = new_api_key()
    store.add(digest=key_digest(key), owner="alice", name="", now=datetime.now(UTC))
    limiter = MemoryAuthFailureLimiter(limit=LIMIT, window_s=WINDOW_S)
    rejected: list[str] = []
    app = Starlette(
        routes=[Route("/rpc", whoami, methods=["POST"]), Route("/health", whoami)],
        middleware=[
            Middleware(
                AuthFailureLimitMiddleware,
                limiter=limiter,
                trusted_proxies=TrustedProxies(),
                on_rejected=rejected.append,
            ),
            Middleware(AuthMiddleware, authenticator=Authenticator(store, cache_ttl_s=30)),
        ],
    )
    return TestClient(app), key, rejected


def _wrong(n: int) -> dict[str, str]:
    return {"X-API-Key": f"acai_wrong-{n}-123456789012"}


def test_wrong_keys_beyond_the_limit_are_refused_before_the_key_is_checked(setup):
    client, key, rejected = setup
    statuses = [client.post("/rpc", headers=_wrong(n)).status_code for n in range(LIMIT + 2)]
    assert statuses == [401] * LIMIT + [429, 429]

    refused = client.post("/rpc", headers={"X-API-Key": key})  # the right key waits too
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"
    assert refused.json() == {
        "code": "resource_exhausted",
        "msg": "too many failed authentications from this address; retry later",
        "meta": {"limit": "auth_failures", "retry_after": "10"},
    }
    assert rejected == ["auth_failures"] * 3
    assert client.get("/health").status_code == 200  # public paths are never refused
    assert client.post("/rpc").status_code == 401  # nor is a request without a key


def test_successes_and_requests_without_a_key_are_not_counted(setup):
    client, key, _ = setup
    for _ in range(10):
        assert client.post("/rpc", headers={"X-API-Key": key}).status_code == 200
        assert client.post("/rpc").status_code == 401  # a missing key guesses nothing
    statuses = [client.post("/rpc", headers=_wrong(n)).status_code for n in range(LIMIT + 1)]
    assert statuses == [401] * LIMIT + [429]
