"""The in-process GCRA limiter and the middleware's answers (a fake clock, no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from chat_service.adapters.memory.rate_limiter import MemoryRateLimiter
from chat_service.edge.client_identity import TrustedProxies
from chat_service.edge.middleware.rate_limit import RateLimitMiddleware


def test_a_burst_passes_then_one_request_per_interval(clock):
    limiter = MemoryRateLimiter(rps=2, burst=3, clock=clock.monotonic)
    assert [limiter.hit_now(["a"]).admitted for _ in range(4)] == [True, True, True, False]
    refused = limiter.hit_now(["a"])
    assert refused.retry_after_s == pytest.approx(0.5)
    assert refused.bucket == "a"
    clock.advance(0.5)
    assert limiter.hit_now(["a"]).admitted
    assert not limiter.hit_now(["a"]).admitted
    clock.advance(10)  # a long pause refills the bucket, but never beyond the burst
    assert [limiter.hit_now(["a"]).admitted for _ in range(4)] == [True, True, True, False]


def test_buckets_are_independent(clock):
    limiter = MemoryRateLimiter(rps=1, burst=1, clock=clock.monotonic)
    assert limiter.hit_now(["a"]).admitted
    assert limiter.hit_now(["b"]).admitted
    assert not limiter.hit_now(["a"]).admitted


def test_a_refused_request_consumes_from_no_bucket(clock):
    limiter = MemoryRateLimiter(rps=1, burst=1, clock=clock.monotonic)
    assert limiter.hit_now(["ip:1"]).admitted
    refused = limiter.hit_now(["key:k", "ip:1"])
    assert (refused.admitted, refused.bucket) == (False, "ip:1")
    assert refused.retry_after_s == pytest.approx(1.0)
    assert limiter.hit_now(["key:k"]).admitted  # the key's bucket was not charged


def test_the_least_recently_used_buckets_are_dropped(clock):
    limiter = MemoryRateLimiter(rps=1, burst=1, max_buckets=2, clock=clock.monotonic)
    for bucket in ("a", "b", "c"):
        assert limiter.hit_now([bucket]).admitted
    assert limiter.hit_now(["a"]).admitted  # forgotten, so full again
    assert not limiter.hit_now(["c"]).admitted


async def _call(app, *, headers=(), client=("203.0.113.9", 5000), path="/twirp/x"):
    sent = []
    scope = {
        "type": "http",
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": client,
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def _ok_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_middleware_answers_twirp_resource_exhausted_with_retry_after(clock):
    app = RateLimitMiddleware(
        _ok_app,
        limiter=MemoryRateLimiter(rps=0.5, burst=1, clock=clock.monotonic),
        trusted_proxies=TrustedProxies(),
    )
    assert asyncio.run(_call(app))[0]["status"] == 200
    start, body = asyncio.run(_call(app))
    headers = dict(start["headers"])
    assert start["status"] == 429
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"retry-after"] == b"2"
    assert orjson.loads(body["body"]) == {
        "code": "resource_exhausted",
        "msg": "rate limit exceeded",
        "meta": {"limit": "client_ip", "retry_after": "2"},
    }


def test_keys_and_addresses_are_limited_apart_and_probes_are_exempt(clock):
    app = RateLimitMiddleware(
        _ok_app,
        limiter=MemoryRateLimiter(rps=1, burst=1, clock=clock.monotonic),
        trusted_proxies=TrustedProxies(),
    )
    key = [("authorization", "Bearer k1")]
    assert asyncio.run(_call(app, headers=key, client=("198.51.100.1", 1)))[0]["status"] == 200
    other_ip = asyncio.run(_call(app, headers=key, client=("198.51.100.2", 1)))
    assert other_ip[0]["status"] == 429  # same key from another address
    assert orjson.loads(other_ip[1]["body"])["meta"]["limit"] == "api_key"
    assert asyncio.run(_call(app, client=("198.51.100.3", 1)))[0]["status"] == 200
    for _ in range(3):
        assert (
            asyncio.run(_call(app, client=("198.51.100.3", 1), path="/health"))[0]["status"] == 200
        )


def test_an_owners_keys_share_one_bucket_and_refusals_are_reported(clock):
    rejected: list[str] = []
    app = RateLimitMiddleware(
        _ok_app,
        limiter=MemoryRateLimiter(rps=1, burst=1, clock=clock.monotonic),
        trusted_proxies=TrustedProxies(),
        on_rejected=rejected.append,
    )

    async def call(key: str, owner: str | None, ip: str):
        scope: dict[str, Any] = {
            "type": "http",
            "path": "/twirp/x",
            "headers": [(b"x-api-key", key.encode())],
            "client": (ip, 1),
        }
        if owner is not None:
            scope["state"] = {"owner": owner}  # as the authentication leaves it
        sent = []

        async def send(message):
            sent.append(message)

        await app(scope, _receive, send)
        return scope, sent

    assert asyncio.run(call("k1", "alice", "198.51.100.1"))[1][0]["status"] == 200
    scope, sent = asyncio.run(call("k2", "alice", "198.51.100.2"))  # alice's second key
    assert sent[0]["status"] == 429
    assert orjson.loads(sent[1]["body"])["meta"]["limit"] == "api_key"
    assert scope["state"]["twirp_error"] == "resource_exhausted"  # for the access log, metrics
    assert asyncio.run(call("k3", "bob", "198.51.100.3"))[1][0]["status"] == 200
    assert asyncio.run(call("k4", None, "198.51.100.3"))[1][0]["status"] == 429  # bob's address
    assert rejected == ["key", "ip"]


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}
