"""The SDK's retry policy and error mapping over real HTTP, against a scripted local server."""

from __future__ import annotations

import json

import pytest

from chat_client import (
    ConnectionFailed,
    Internal,
    NotFound,
    ResourceExhausted,
    RetryPolicy,
    TimedOut,
    Unavailable,
)
from gen.acai.chat import chat_pb2 as pb
from tests.fakes.chat_clients import make_client
from tests.fakes.scripted_http import Drop, Hold, Respond, ScriptedHTTPServer
from tests.fakes.uvicorn_thread import free_port

FAST = RetryPolicy(retries=2, backoff_base_s=0.001, backoff_max_s=0.01)
JSON = {"Content-Type": "application/json"}


def _twirp_error(status: int, code: str, msg: str = "m", **headers: str) -> Respond:
    body = json.dumps({"code": code, "msg": msg}).encode()
    return Respond(status, body, {**JSON, **headers})


def _started() -> Respond:
    message = pb.StartConversationResponse(conversation_id="c" * 24, title="T", reply="R")
    return Respond(200, message.SerializeToString(), {"Content-Type": "application/protobuf"})


def _empty_list() -> Respond:
    return Respond(200, b"", {"Content-Type": "application/protobuf"})


@pytest.fixture(scope="module")
def server():
    with ScriptedHTTPServer(default=_twirp_error(500, "internal", "unscripted")) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _reset(server):
    server.reset()


@pytest.fixture(params=["sync", "async"])
def client(request, server):
    return make_client(request.param, server.url, retry=FAST, timeout_s=5)


def test_unavailable_is_retried_until_it_succeeds(server, client):
    server.script(_twirp_error(503, "unavailable"), _twirp_error(503, "unavailable"), _started())
    started = client.start_conversation("hi")
    assert (started.conversation_id, started.title, started.reply) == ("c" * 24, "T", "R")
    assert len(server.requests) == 3
    assert {r.body for r in server.requests} == {
        pb.StartConversationRequest(message="hi").SerializeToString()
    }


def test_retries_stop_after_the_policy_allows(server, client):
    server.script(*[_twirp_error(503, "unavailable", "still down")] * 5)
    with pytest.raises(Unavailable, match="still down"):
        client.start_conversation("hi")
    assert len(server.requests) == 3


def test_no_retries_when_the_policy_says_none(server):
    server.script(_twirp_error(503, "unavailable"), _started())
    client = make_client("sync", server.url, retry=RetryPolicy(retries=0))
    with pytest.raises(Unavailable):
        client.start_conversation("hi")
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("answer", "error_type"),
    [
        (
            _twirp_error(429, "resource_exhausted", "slow down", **{"Retry-After": "3"}),
            ResourceExhausted,
        ),
        (_twirp_error(404, "not_found", "conversation not found"), NotFound),
        (_twirp_error(500, "internal", "internal error"), Internal),
    ],
)
def test_other_codes_are_raised_without_retrying(server, client, answer, error_type):
    server.script(answer, _started())
    with pytest.raises(error_type) as raised:
        client.start_conversation("hi")
    assert len(server.requests) == 1
    assert raised.value.http_status == answer.status
    if error_type is ResourceExhausted:
        assert raised.value.retry_after_s == 3.0


def test_a_proxy_502_on_a_turn_is_not_resent(server, client):
    server.script(
        Respond(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}), _started()
    )
    with pytest.raises(Unavailable) as raised:
        client.start_conversation("hi")
    assert raised.value.from_intermediary
    assert len(server.requests) == 1


def test_a_proxy_502_on_a_read_is_retried(server, client):
    server.script(Respond(502, b"<html>Bad Gateway</html>"), _empty_list())
    page = client.list_conversations()
    assert page.conversations == ()
    assert len(server.requests) == 2


def test_a_connection_dropped_after_sending_a_turn_is_not_resent(server, client):
    server.script(Drop(), _started())
    with pytest.raises(ConnectionFailed) as raised:
        client.start_conversation("hi")
    assert not raised.value.before_send
    assert len(server.requests) == 1


def test_a_connection_dropped_during_a_read_is_retried(server, client):
    server.script(Drop(), Drop(), _empty_list())
    assert client.list_conversations().next_page_token == ""
    assert len(server.requests) == 3


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_refused_connection_fails_with_connection_failed(kind):
    client = make_client(kind, f"http://127.0.0.1:{free_port()}", retry=FAST)
    with pytest.raises(ConnectionFailed) as raised:
        client.start_conversation("hi")
    assert raised.value.before_send


def test_a_timeout_is_raised_and_not_retried(server, kind_client_with_short_timeout):
    server.script(Hold(), _started())
    with pytest.raises(TimedOut):
        kind_client_with_short_timeout.start_conversation("hi")
    assert len(server.requests) == 1


@pytest.fixture(params=["sync", "async"])
def kind_client_with_short_timeout(request, server):
    return make_client(request.param, server.url, retry=FAST, timeout_s=0.2)


def test_api_key_and_json_encoding_reach_the_server(server):
    server.script(Respond(200, b'{"conversation_id":"x","title":"t","reply":"r"}', JSON))
    client = make_client("sync", server.url, api_key="secret-key", encoding="json")
    assert client.start_conversation("hi").reply == "r"
    [sent] = server.requests
    assert sent.path == "/twirp/acai.chat.ChatService/StartConversation"
    assert sent.headers["Authorization"] == "Bearer secret-key"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {"message": "hi"}
