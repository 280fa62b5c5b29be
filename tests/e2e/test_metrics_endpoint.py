"""/metrics after a scripted set of turns: counters equal what the fake provider reported."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from chat_service.core import prompts
from tests.fakes.openai_wire import Reply, echo_responder
from tests.metrics_text import value

TITLE_USAGE = (40, 4)
REPLY_USAGES = [(120, 30), (210, 25), (305, 12)]


@pytest.fixture
def metered_provider(fake_openai):
    """Titles cost TITLE_USAGE; replies cost REPLY_USAGES in order."""
    replies = iter(REPLY_USAGES)

    def respond(request):
        first = request["messages"][0]
        if first["role"] == "system" and first["content"].startswith(prompts.TITLE_INSTRUCTION):
            return Reply("Metered Title", usage=TITLE_USAGE)
        return Reply("metered reply", usage=next(replies))

    fake_openai.responder = respond
    yield
    fake_openai.responder = echo_responder


def _scrape(app, owner="alice"):
    response = requests.get(
        app.url + "/metrics", headers={"Authorization": f"Bearer {app.keys[owner]}"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_metrics_need_a_key_when_keys_exist(secured_app):
    response = requests.get(secured_app.url + "/metrics", timeout=10)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_token_counters_equal_the_provider_s_usage(secured_app, metered_provider):
    user = f"u-{uuid.uuid4().hex[:8]}"
    start = {"message": "count my tokens", "session_metadata": {"platform": "api", "user_id": user}}
    started = secured_app.post("StartConversation", start, owner="alice")
    assert started.status_code == 200, started.text
    conversation_id = started.json()["conversation_id"]
    for text in ("second", "third"):
        body = {"conversation_id": conversation_id, "message": text}
        assert secured_app.post("ContinueConversation", body, owner="alice").status_code == 200

    text = _scrape(secured_app)
    reply = {"operation": "reply", "model": "gpt-test", "user_id": user, "platform": "api"}
    title = {**reply, "operation": "title"}
    assert value(text, "openai_tokens_input_total", **reply) == sum(u[0] for u in REPLY_USAGES)
    assert value(text, "openai_tokens_output_total", **reply) == sum(u[1] for u in REPLY_USAGES)
    assert value(text, "openai_tokens_total", **reply) == sum(map(sum, REPLY_USAGES))
    assert value(text, "openai_requests_total", **reply) == 3
    assert value(text, "openai_request_duration_ms_count", **reply) == 3
    assert value(text, "openai_tokens_input_total", **title) == TITLE_USAGE[0]
    assert value(text, "openai_tokens_output_total", **title) == TITLE_USAGE[1]
    tokens_in = TITLE_USAGE[0] + sum(u[0] for u in REPLY_USAGES)
    tokens_out = TITLE_USAGE[1] + sum(u[1] for u in REPLY_USAGES)
    assert value(text, "llm_tokens_total", owner="alice", user_id=user, type="input") == tokens_in
    assert value(text, "llm_cost_usd_total", owner="alice", user_id=user) == pytest.approx(
        (tokens_in * 1.0 + tokens_out * 2.0) / 1_000_000
    )


def test_twirp_calls_are_counted_by_method_and_code(secured_app):
    before = _scrape(secured_app)
    route = "/twirp/acai.chat.ChatService/"
    secured_app.post("ListConversations", {}, owner="alice")
    secured_app.post("ListConversations", {})  # no key
    secured_app.post("DescribeConversation", {"conversation_id": "bad"}, owner="alice")
    requests.post(
        secured_app.url + route + "Nope",
        json={},
        timeout=10,
        headers={"X-API-Key": secured_app.keys["alice"]},
    )
    service = "acai.chat.ChatService"
    expected = {
        (service, "ListConversations", "ok"): 1,
        (service, "ListConversations", "unauthenticated"): 1,
        (service, "DescribeConversation", "invalid_argument"): 1,
        ("unmatched", "unmatched", "bad_route"): 1,
    }

    def deltas(after):
        return {
            (s, m, c): value(after, "twirp_requests_total", service=s, method=m, code=c)
            - value(before, "twirp_requests_total", service=s, method=m, code=c)
            for s, m, c in expected
        }

    # A request is counted just after its response went out: give the last one a moment.
    deadline = time.monotonic() + 10
    after = _scrape(secured_app)
    while deltas(after) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
        after = _scrape(secured_app)
    assert deltas(after) == expected
    assert value(after, "http_requests_total", route=route + "ListConversations", status="401") >= 1
    assert value(after, "http_requests_in_flight") >= 1  # this scrape itself
