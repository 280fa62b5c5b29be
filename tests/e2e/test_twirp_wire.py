"""Every rule of the Twirp wire contract, over real HTTP against the app under uvicorn."""

from __future__ import annotations

import re

import pytest

from gen.acai.chat import chat_pb2 as pb
from tests.e2e.conftest import ROUTE

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/protobuf"}


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert set(body) <= {"code", "msg", "meta"}
    assert isinstance(body["msg"], str)
    if "meta" in body:
        assert body["meta"], "meta is omitted when empty"
        assert all(isinstance(v, str) for v in body["meta"].values())
    return body


def _started(rpc, message: str = "hello there") -> dict:
    response = rpc("StartConversation", {"message": message})
    assert response.status_code == 200, response.text
    return response.json()


# --- requests -------------------------------------------------------------------------


def test_all_four_methods_answer_json(rpc):
    started = _started(rpc)
    assert set(started) == {"conversation_id", "title", "reply", "usage", "turn_id"}
    cid = started["conversation_id"]
    cont = rpc("ContinueConversation", {"conversation_id": cid, "message": "and then?"})
    assert cont.status_code == 200
    continued = cont.json()
    assert set(continued.pop("usage")) == {
        "provider",
        "model",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
        "cached",
        "calls",
    }
    assert len(continued.pop("turn_id")) == 32
    assert continued == {
        "reply": "echo: and then?",
        "conversation_id": cid,
        "new_conversation": False,
        "title": "",
    }
    listed = rpc("ListConversations", {})
    assert listed.status_code == 200
    assert set(listed.json()) == {"conversations", "next_page_token"}
    described = rpc("DescribeConversation", {"conversation_id": cid})
    assert described.status_code == 200
    assert described.json()["conversation"]["id"] == cid


def test_all_four_methods_answer_protobuf(server_url, http):
    def call(method, request, response_type):
        response = http.post(
            server_url + ROUTE + method, data=request.SerializeToString(), headers=PROTOBUF
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/protobuf"
        return response_type.FromString(response.content)

    started = call(
        "StartConversation",
        pb.StartConversationRequest(message="hi from protobuf"),
        pb.StartConversationResponse,
    )
    assert started.conversation_id
    assert started.reply
    cont = call(
        "ContinueConversation",
        pb.ContinueConversationRequest(conversation_id=started.conversation_id, message="more"),
        pb.ContinueConversationResponse,
    )
    assert cont.reply
    listed = call("ListConversations", pb.ListConversationsRequest(), pb.ListConversationsResponse)
    assert started.conversation_id in [c.id for c in listed.conversations]
    described = call(
        "DescribeConversation",
        pb.DescribeConversationRequest(conversation_id=started.conversation_id),
        pb.DescribeConversationResponse,
    )
    assert [m.role for m in described.conversation.messages] == [1, 2, 1, 2]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", [ROUTE + "ListConversations", "/twirp/nowhere/Foo"])
def test_only_post_is_routed_and_checked_first(server_url, http, method, path):
    response = http.request(method, server_url + path, headers=JSON, data=b"{}")
    body = _error(response, 404, "bad_route")
    assert body["msg"] == f'unsupported method "{method}" (only POST is allowed)'
    assert body["meta"] == {"twirp_invalid_route": f"{method} {path}"}


@pytest.mark.parametrize(
    "path",
    [
        "/twirp/acai.chat.ChatService/NoSuchMethod",
        "/twirp/acai.chat.ChatService/listConversations",
        "/twirp/acai.chat.chatservice/ListConversations",
        "/twirp/chat.ChatService/ListConversations",
        "/twirp/acai.chat.OtherService/ListConversations",
        "/rpc/acai.chat.ChatService/ListConversations",
        "/Twirp/acai.chat.ChatService/ListConversations",
        "/twirp/acai.chat.ChatService/ListConversations/",
        "/twirp/acai.chat.ChatService/ListConversations/extra",
        "/twirp/acai.chat.ChatService",
        "/twirp/",
        "/",
    ],
)
def test_unknown_routes_are_bad_route(server_url, http, path):
    response = http.post(server_url + path, headers=JSON, data=b"{}")
    body = _error(response, 404, "bad_route")
    assert body["meta"] == {"twirp_invalid_route": f"POST {path}"}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_missing_or_unknown_content_type_is_bad_route(server_url, http, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = http.post(server_url + ROUTE + "ListConversations", data=b"{}", headers=headers)
    body = _error(response, 404, "bad_route")
    assert body["msg"] == f'unexpected Content-Type: "{content_type or ""}"'
    assert body["meta"] == {"twirp_invalid_route": f"POST {ROUTE}ListConversations"}


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json; charset=utf-8", "application/json"),
        ("Application/JSON", "application/json"),
        ("application/protobuf; proto=acai.chat.ListConversationsRequest", "application/protobuf"),
        ("APPLICATION/PROTOBUF", "application/protobuf"),
    ],
)
def test_content_type_is_case_insensitive_and_parameters_are_dropped(
    server_url, http, content_type, expected
):
    body = b"{}" if "json" in expected else b""
    response = http.post(
        server_url + ROUTE + "ListConversations", data=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == expected


def test_accept_and_twirp_version_headers_are_ignored(server_url, http):
    headers = {**JSON, "Accept": "application/xml", "Twirp-Version": "v99.0.0"}
    response = http.post(server_url + ROUTE + "ListConversations", data=b"{}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_json_accepts_proto_and_camel_case_names(rpc):
    cid = _started(rpc)["conversation_id"]
    by_proto_name = rpc("DescribeConversation", {"conversation_id": cid})
    by_camel_case = rpc("DescribeConversation", {"conversationId": cid})
    assert by_proto_name.status_code == by_camel_case.status_code == 200
    assert by_camel_case.json()["conversation"]["id"] == cid
    meta = {"sessionMetadata": {"platform": "web", "userId": "u1", "chatId": "c1"}}
    assert rpc("StartConversation", {"message": "camel", **meta}).status_code == 200


def test_json_ignores_unknown_fields_and_takes_null_as_default(rpc):
    assert rpc("ListConversations", {"no_such_field": [1, 2], "pageSize": None}).status_code == 200
    body = _error(rpc("StartConversation", {"message": None}), 400, "invalid_argument")
    assert body["meta"] == {"argument": "message"}


@pytest.mark.parametrize("page_size", [2, "2"])
def test_json_integers_as_numbers_or_strings(rpc, page_size):
    _started(rpc)
    _started(rpc)
    response = rpc("ListConversations", {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["conversations"]) == 2


def test_json_responses_use_proto_names_defaults_enum_names_and_rfc3339(rpc):
    started = _started(rpc, "what is a twirp?")
    listed = rpc("ListConversations", {"page_size": 1}).json()
    assert listed["conversations"][0]["messages"] == [], "default values are included"
    last_page = rpc("DescribeConversation", {"conversation_id": started["conversation_id"]})
    conversation = last_page.json()["conversation"]
    assert last_page.json()["next_page_token"] == ""
    assert set(conversation) == {"id", "title", "timestamp", "messages", "model", "instructions"}
    assert RFC3339.match(conversation["timestamp"])
    first, second = conversation["messages"]
    assert set(first) == {"id", "role", "content", "timestamp"} | {
        "tool_calls",
        "tool_call_id",
        "tool_name",
        "finish_reason",
    } | {"inactive", "version", "alternative_of", "model"}
    assert (first["tool_calls"], first["tool_call_id"], first["tool_name"]) == ([], "", "")
    assert (first["role"], second["role"]) == ("USER", "ASSISTANT")
    assert first["content"] == "what is a twirp?"
    assert RFC3339.match(first["timestamp"])


def test_empty_protobuf_body_is_an_empty_message(server_url, http):
    response = http.post(server_url + ROUTE + "ListConversations", data=b"", headers=PROTOBUF)
    assert response.status_code == 200
    pb.ListConversationsResponse.FromString(response.content)
    blank = http.post(server_url + ROUTE + "StartConversation", data=b"", headers=PROTOBUF)
    assert _error(blank, 400, "invalid_argument")["meta"] == {"argument": "message"}


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"{", b"[]", b'"text"', b"null", b'{"message": 5}', b"\xff\xfe"]
)
def test_bad_json_is_malformed(server_url, http, body):
    response = http.post(server_url + ROUTE + "StartConversation", data=body, headers=JSON)
    _error(response, 400, "malformed")


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("StartConversation", {"message": "hi", "session_metadata": "telegram"}),
        ("StartConversation", {"message": "hi", "sessionMetadata": []}),
        ("StartConversation", {"message": ["hi"]}),
        (
            "ContinueConversation",
            {"conversation_id": "0" * 24, "message": "hi", "session_metadata": "x"},
        ),
        ("EndSession", {"session_metadata": "telegram"}),
        ("EndSession", {"session_metadata": 7}),
        ("ListConversations", {"page_size": "ten"}),
        ("ListConversations", {"page_token": {}}),
    ],
)
def test_a_value_of_the_wrong_json_type_is_malformed(rpc, method, body):
    # A string or a list where an object is expected is a wrong type like any other.
    _error(rpc(method, body), 400, "malformed")


def test_a_json_body_may_start_with_a_byte_order_mark(server_url, http):
    body = b"\xef\xbb\xbf" + b'{"conversation_id": "507f1f77bcf86cd799439011"}'
    response = http.post(server_url + ROUTE + "DescribeConversation", data=body, headers=JSON)
    # The id was read: an unknown conversation, not a malformed body or a missing id.
    _error(response, 404, "not_found")


def test_undecodable_protobuf_is_malformed_and_answered_in_json(server_url, http):
    response = http.post(
        server_url + ROUTE + "StartConversation", data=b"\xff\xff\xff\xff", headers=PROTOBUF
    )
    _error(response, 400, "malformed")


def test_errors_are_json_for_protobuf_requests(server_url, http):
    request = pb.DescribeConversationRequest(conversation_id="0" * 24)
    response = http.post(
        server_url + ROUTE + "DescribeConversation",
        data=request.SerializeToString(),
        headers=PROTOBUF,
    )
    assert _error(response, 404, "not_found")["msg"] == "conversation not found"


def test_body_over_the_limit_is_refused_with_a_twirp_error(server_url, http, app_settings):
    limit = app_settings.max_body_bytes
    big = b'{"message": "' + b"x" * limit + b'"}'
    response = http.post(server_url + ROUTE + "StartConversation", data=big, headers=JSON)
    body = _error(response, 400, "invalid_argument")
    assert body["meta"] == {"max_bytes": str(limit)}


def test_chunked_body_over_the_limit_is_refused_without_a_length(server_url, http, app_settings):
    def chunks():
        yield b'{"message": "'
        for _ in range(app_settings.max_body_bytes // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = http.post(server_url + ROUTE + "StartConversation", data=chunks(), headers=JSON)
    _error(response, 400, "invalid_argument")


@pytest.mark.parametrize(
    ("method", "body", "argument"),
    [
        ("StartConversation", {}, "message"),
        ("StartConversation", {"message": "   \n\t"}, "message"),
        ("ContinueConversation", {"message": "hi"}, "conversation_id"),
        ("ContinueConversation", {"conversation_id": "  ", "message": "hi"}, "conversation_id"),
        ("ContinueConversation", {"conversation_id": "0" * 24}, "message"),
        ("DescribeConversation", {}, "conversation_id"),
        ("ListConversations", {"page_size": -1}, "page_size"),
        ("ListConversations", {"page_token": "not-a-token"}, "page_token"),
    ],
)
def test_missing_or_blank_fields_are_invalid_argument(rpc, method, body, argument):
    error = _error(rpc(method, body), 400, "invalid_argument")
    assert error["meta"] == {"argument": argument}


def test_message_over_the_length_limit_is_invalid_argument(rpc, app_settings):
    long_message = "y" * (app_settings.max_message_chars + 1)
    error = _error(rpc("StartConversation", {"message": long_message}), 400, "invalid_argument")
    assert error["meta"] == {"argument": "message"}


@pytest.mark.parametrize("bad_id", ["nope", "507f1f77bcf86cd79943901", "507F1F77BCF86CD799439011"])
def test_malformed_conversation_id_is_invalid_argument(rpc, bad_id):
    body = {"conversation_id": bad_id, "message": "hi"}
    error = _error(rpc("ContinueConversation", body), 400, "invalid_argument")
    assert error["meta"] == {"argument": "conversation_id"}


def test_unknown_conversation_is_not_found(rpc):
    body = {"conversation_id": "507f1f77bcf86cd799439011", "message": "hi"}
    _error(rpc("ContinueConversation", body), 404, "not_found")
    describe = {"conversation_id": "507f1f77bcf86cd799439011"}
    _error(rpc("DescribeConversation", describe), 404, "not_found")
