"""Fuzzing the Twirp edge under uvicorn: random and mutated JSON and protobuf bodies, content
types and other headers, paths and HTTP methods. For every input: never a 5xx, the server
stays up, Twirp routes answer errors as Twirp JSON, and a rejected request changes no stored
document (the collections are counted before and after)."""

from __future__ import annotations

import json

import pytest
import requests
from google.protobuf import json_format
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gen.acai.chat import chat_pb2 as pb

PREFIX = "/twirp/acai.chat.ChatService/"
METHODS = {
    "StartConversation": pb.StartConversationRequest,
    "ContinueConversation": pb.ContinueConversationRequest,
    "ListConversations": pb.ListConversationsRequest,
    "DescribeConversation": pb.DescribeConversationRequest,
    "EndSession": pb.EndSessionRequest,
}
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/protobuf",
    "application/x-protobuf",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
    "application/json; charset=latin-1",
    "*/*",
]
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
# requests refuses leading whitespace in a header value, so values are stripped.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
    str.strip
)


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def conversation_id(base_url, http) -> str:
    response = http.post(base_url + PREFIX + "StartConversation", json={"message": "seed"})
    assert response.status_code == 200, response.text
    return str(response.json()["conversation_id"])


def _valid(method: str, conversation_id: str) -> dict[str, object]:
    session = {"platform": "fuzz", "user_id": "1", "chat_id": "2"}
    bodies: dict[str, dict[str, object]] = {
        "StartConversation": {"message": "hello", "session_metadata": session},
        "ContinueConversation": {"conversation_id": conversation_id, "message": "more"},
        "ListConversations": {"page_size": 5},
        "DescribeConversation": {"conversation_id": conversation_id, "page_size": 5},
        "EndSession": {"session_metadata": session},
    }
    return bodies[method]


@st.composite
def mutated_json(draw, conversation_id: str) -> dict[str, object]:
    method = draw(st.sampled_from(sorted(METHODS)))
    body = dict(_valid(method, conversation_id))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["set", "drop", "add"]))
        keys = sorted(body)
        if action == "set" and keys:
            body[draw(st.sampled_from(keys))] = draw(json_values)
        elif action == "drop" and keys:
            body.pop(draw(st.sampled_from(keys)))
        else:
            body[draw(st.text(max_size=12))] = draw(json_values)
    return {"method": method, "body": json.dumps(body).encode()}


@st.composite
def mutated_bytes(draw, payload: bytes) -> bytes:
    data = bytearray(payload)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and data:
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            data = data[: draw(st.integers(0, len(data)))]
        else:
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def _protobuf(method: str, conversation_id: str) -> bytes:
    message = METHODS[method]()
    body = _valid(method, conversation_id)
    json_format.ParseDict(body, message)
    return message.SerializeToString()


def _check(http, base_url, stored_counts, verb, path, body, headers) -> requests.Response:
    before = stored_counts()
    response = http.request(verb, base_url + path, data=body, headers=headers, timeout=30)
    event(f"HTTP {response.status_code}")  # shown by --hypothesis-show-statistics
    assert response.status_code < 500, (verb, path, body[:200], headers, response.text[:300])
    if response.status_code != 200:
        assert stored_counts() == before, (verb, path, body[:200], headers)
        if path.startswith(PREFIX) and verb == "POST":
            error = response.json()
            assert isinstance(error.get("code"), str), response.text
            assert isinstance(error.get("msg"), str), response.text
    return response


@FUZZ
@given(data=st.data())
def test_random_and_mutated_json_bodies(base_url, http, stored_counts, conversation_id, data):
    case = data.draw(
        st.one_of(
            mutated_json(conversation_id),
            st.builds(
                lambda m, v: {"method": m, "body": json.dumps(v).encode()},
                st.sampled_from(sorted(METHODS)),
                json_values,
            ),
        )
    )
    body = case["body"]
    if data.draw(st.booleans()):
        body = data.draw(mutated_bytes(body))
    headers = {"Content-Type": "application/json"}
    _check(http, base_url, stored_counts, "POST", PREFIX + case["method"], body, headers)


@FUZZ
@given(data=st.data())
def test_random_and_mutated_protobuf_bodies(base_url, http, stored_counts, conversation_id, data):
    method = data.draw(st.sampled_from(sorted(METHODS)))
    body = data.draw(
        st.one_of(
            mutated_bytes(_protobuf(method, conversation_id)),
            st.binary(max_size=200),
        )
    )
    headers = {"Content-Type": "application/protobuf"}
    _check(http, base_url, stored_counts, "POST", PREFIX + method, body, headers)


@FUZZ
@given(data=st.data())
def test_content_types_and_headers(base_url, http, stored_counts, conversation_id, data):
    method = data.draw(st.sampled_from(sorted(METHODS)))
    body = data.draw(
        st.sampled_from(
            [
                json.dumps(_valid(method, conversation_id)).encode(),
                _protobuf(method, conversation_id),
            ]
        )
    )
    headers = {
        "Content-Type": data.draw(st.one_of(st.sampled_from(CONTENT_TYPES), header_text)),
        **data.draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "Accept",
                        "X-Forwarded-For",
                        "Authorization",
                        "Idempotency-Key",
                        "Content-Encoding",
                        "X-Request-Id",
                        "Origin",
                    ]
                ),
                header_text,
                max_size=3,
            )
        ),
    }
    _check(http, base_url, stored_counts, "POST", PREFIX + method, body, headers)


path_text = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#?"), max_size=40
)


@FUZZ
@given(
    verb=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    path=st.one_of(
        path_text.map(lambda p: PREFIX + p),
        path_text.map(lambda p: "/twirp/" + p),
        path_text.map(lambda p: "/" + p),
    ),
    body=st.binary(max_size=100),
)
def test_paths_and_http_methods(base_url, http, stored_counts, verb, path, body):
    _check(http, base_url, stored_counts, verb, path, body, {"Content-Type": "application/json"})


def test_the_server_is_still_up_after_the_fuzzing(base_url, http):
    assert http.get(base_url + "/health", timeout=10).status_code == 200
