"""Security headers, CORS and request ids on the secured app, over real HTTP."""

from __future__ import annotations

import pytest
import requests

ORIGIN = "https://chat.example"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _requests(app):
    yield requests.get(app.url + "/health", timeout=10)
    yield app.post("ListConversations", {}, owner="alice")
    yield app.post("ListConversations", {})  # 401
    yield app.post("Nope", {}, owner="alice")  # 404 bad_route
    yield requests.options(
        app.url + "/twirp/acai.chat.ChatService/ListConversations",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )


def test_every_response_carries_the_security_headers(secured_app):
    for response in _requests(secured_app):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.status_code, name)
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["x-request-id"]


def test_preflight_from_a_configured_origin_is_answered_before_auth(secured_app):
    response = requests.options(
        secured_app.url + "/twirp/acai.chat.ChatService/StartConversation",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_preflight_from_another_origin_is_refused(secured_app):
    response = requests.options(
        secured_app.url + "/twirp/acai.chat.ChatService/StartConversation",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(("origin", "allowed"), [(ORIGIN, True), ("https://evil.example", False)])
def test_cors_headers_on_actual_requests_only_for_configured_origins(secured_app, origin, allowed):
    response = secured_app.post("ListConversations", {}, owner="alice", headers={"Origin": origin})
    assert response.status_code == 200
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed
    if allowed:
        assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_the_caller_s_request_id_comes_back(secured_app):
    response = secured_app.post(
        "ListConversations", {}, owner="alice", headers={"X-Request-Id": "trace-me-42"}
    )
    assert response.headers["x-request-id"] == "trace-me-42"
