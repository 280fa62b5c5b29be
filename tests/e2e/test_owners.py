"""Keys and owners end to end: every RPC needs a key and sees only its owner's conversations."""

from __future__ import annotations

import uuid

import pytest
import requests

METHODS = [
    "StartConversation",
    "ContinueConversation",
    "ListConversations",
    "DescribeConversation",
    "EndSession",
    "DeleteConversation",
    "UpdateConversation",
    "GetUsage",
]


@pytest.fixture
def alices_conversation(secured_app):
    response = secured_app.post("StartConversation", {"message": "hello from alice"}, owner="alice")
    assert response.status_code == 200, response.text
    return response.json()["conversation_id"]


@pytest.mark.parametrize("method", METHODS)
def test_every_rpc_without_a_key_is_unauthenticated(secured_app, method):
    response = secured_app.post(method, {"message": "hi", "conversation_id": "0" * 24})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize("method", METHODS)
def test_every_rpc_with_a_wrong_key_is_unauthenticated(secured_app, method):
    headers = {"X-API-Key": "acai_wrong-key-for-e2e-000000000000"}
    response = secured_app.post(method, {"message": "hi"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"code": "unauthenticated", "msg": "the API key is not valid"}


def test_an_unknown_route_without_a_key_reveals_nothing(secured_app):
    response = requests.post(secured_app.url + "/twirp/nope.Nope/Nope", json={}, timeout=10)
    assert response.json()["code"] == "unauthenticated"


def test_another_owner_cannot_continue_or_describe(secured_app, alices_conversation):
    body = {"conversation_id": alices_conversation, "message": "let me in"}
    for owner in ("bob", "default"):
        continued = secured_app.post("ContinueConversation", body, owner=owner)
        described = secured_app.post("DescribeConversation", body, owner=owner)
        assert (continued.status_code, continued.json()["code"]) == (404, "not_found")
        assert (described.status_code, described.json()["code"]) == (404, "not_found")
    assert secured_app.post("ContinueConversation", body, owner="alice").status_code == 200
    described = secured_app.post("DescribeConversation", body, owner="alice").json()
    assert [m["content"] for m in described["conversation"]["messages"]][2] == "let me in"


def test_list_shows_only_the_owners_conversations(secured_app, alices_conversation):
    bobs = secured_app.post("StartConversation", {"message": "bob here"}, owner="bob").json()
    listed = {
        owner: {
            c["id"]
            for c in secured_app.post("ListConversations", {}, owner=owner).json()["conversations"]
        }
        for owner in ("alice", "bob", "default")
    }
    assert alices_conversation in listed["alice"]
    assert alices_conversation not in listed["bob"] | listed["default"]
    assert bobs["conversation_id"] in listed["bob"]
    assert bobs["conversation_id"] not in listed["alice"] | listed["default"]


def test_the_env_key_and_x_api_key_work(secured_app):
    headers = {"X-API-Key": secured_app.keys["default"]}
    response = secured_app.post("ListConversations", {}, headers=headers)
    assert response.status_code == 200


def test_health_and_ready_stay_public(secured_app):
    assert requests.get(secured_app.url + "/health", timeout=10).status_code == 200
    assert requests.get(secured_app.url + "/ready", timeout=10).status_code == 200


def test_sessions_are_per_owner_one_cannot_end_or_join_anothers(secured_app):
    session = {"platform": "telegram", "user_id": "42", "chat_id": uuid.uuid4().hex}

    def say(owner: str, text: str) -> dict[str, object]:
        body = {"message": text, "session_metadata": session}
        response = secured_app.post("ContinueConversation", body, owner=owner)
        assert response.status_code == 200, response.text
        return response.json()

    alices = say("alice", "hello from alice")
    assert alices["new_conversation"] is True
    ended = secured_app.post("EndSession", {"session_metadata": session}, owner="bob")
    assert ended.status_code == 200, ended.text
    assert ended.json().get("conversation_id", "") == ""  # bob had no such session
    bobs = say("bob", "hello from bob")
    assert bobs["new_conversation"] is True
    assert bobs["conversation_id"] != alices["conversation_id"]

    again = say("alice", "still there?")  # bob's calls neither ended nor joined alice's
    assert again.get("new_conversation", False) is False
    assert again["conversation_id"] == alices["conversation_id"]
    described = secured_app.post(
        "DescribeConversation", {"conversation_id": alices["conversation_id"]}, owner="alice"
    ).json()
    assert [m["content"] for m in described["conversation"]["messages"]][::2] == [
        "hello from alice",
        "still there?",
    ]
    ended = secured_app.post("EndSession", {"session_metadata": session}, owner="alice")
    assert ended.json()["conversation_id"] == alices["conversation_id"]
