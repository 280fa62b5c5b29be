"""AuthMiddleware and Twirp-shaped middleware errors, on a small Starlette app (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chat_service.core.api_keys import key_digest, new_api_key
from chat_service.core.authentication import Authenticator, StaticKey
from chat_service.edge.middleware.auth import AuthMiddleware
from chat_service.edge.middleware.twirp_reply import send_twirp_error
from chat_service.edge.twirp import TwirpError
from tests.fakes.memory_api_keys import MemoryApiKeyStore

ENV_KEY = "acai_env-key-for-middleware-tests-01"


async def whoami(request):
    return JSONResponse(
        {"owner": request.scope["state"].get("owner"), "body": (await request.body()).decode()}
    )


def _client(store, **kwargs):
    auth = Authenticator(store, cache_ttl_s=30, **kwargs)
    routes = [
        Route("/rpc", whoami, methods=["POST"]),
        Route("/health", whoami),
        Route("/metrics", whoami),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(AuthMiddleware, authenticator=auth)])
    return TestClient(app)


@pytest.fixture
def store():
    return MemoryApiKeyStore()


@pytest.fixture
def alice_key(store):
    key = new_api_key()
    store.add(digest=key_digest(key), owner="alice", name="", now=datetime.now(UTC))
    return key


def test_missing_key_is_unauthenticated_in_twirp_json(store, alice_key):
    response = _client(store).post("/rpc", content=b"{}")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert set(body) == {"code", "msg"}
    assert body["code"] == "unauthenticated"


def test_wrong_key_is_unauthenticated_and_the_body_is_not_read(store, alice_key):
    response = _client(store).post(
        "/rpc", content=b"{}", headers={"X-API-Key": "acai_wrong-one-123456789012"}
    )
    assert response.status_code == 401
    assert response.json() == {"code": "unauthenticated", "msg": "the API key is not valid"}


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_a_known_key_sets_the_owner(store, alice_key, header):
    value = f"Bearer {alice_key}" if header == "Authorization" else alice_key
    response = _client(store).post("/rpc", content=b"hello", headers={header: value})
    assert response.status_code == 200
    assert response.json() == {"owner": "alice", "body": "hello"}


def test_bearer_scheme_is_case_insensitive(store, alice_key):
    response = _client(store).post("/rpc", headers={"Authorization": f"bearer  {alice_key}"})
    assert response.json()["owner"] == "alice"


def test_the_env_key_works_next_to_stored_keys(store, alice_key):
    client = _client(store, static_key=StaticKey(key_digest(ENV_KEY), "default"))
    assert client.post("/rpc", headers={"X-API-Key": ENV_KEY}).json()["owner"] == "default"
    assert client.post("/rpc", headers={"X-API-Key": alice_key}).json()["owner"] == "alice"


def test_health_is_public_but_metrics_needs_a_key(store, alice_key):
    client = _client(store)
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 401
    assert (
        client.get("/metrics", headers={"Authorization": f"Bearer {alice_key}"}).status_code == 200
    )


def test_open_mode_serves_callers_without_a_key_as_anonymous(store):
    client = _client(store)
    assert client.post("/rpc").json()["owner"] == "anonymous"
    assert client.get("/metrics").status_code == 200


def test_open_mode_refuses_a_key_that_does_not_exist(store):
    response = _client(store).post("/rpc", headers={"X-API-Key": "acai_made-up-123456789012"})
    assert response.status_code == 401
    assert response.json() == {"code": "unauthenticated", "msg": "the API key is not valid"}


def test_a_down_key_store_is_unavailable_not_open(store, alice_key):
    store.unavailable = True
    response = _client(store).post("/rpc", headers={"X-API-Key": alice_key})
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"


def test_middleware_errors_such_as_rate_limits_go_out_in_twirp_json():
    state = {}

    async def limited(scope, receive, send):
        state.update(scope.setdefault("state", {}))
        error = TwirpError("resource_exhausted", "too many requests", {"retry_after_s": "2"})
        await send_twirp_error(scope, send, error, headers=[(b"retry-after", b"2")])
        state.update(scope["state"])

    response = TestClient(limited).post("/rpc")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json() == {
        "code": "resource_exhausted",
        "msg": "too many requests",
        "meta": {"retry_after_s": "2"},
    }
    assert state["twirp_error"] == "resource_exhausted"
