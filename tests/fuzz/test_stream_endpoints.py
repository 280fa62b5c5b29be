"""Fuzzing the stream endpoints under uvicorn: mutated bodies, content types and methods on the
stream routes, made-up turn ids and positions on resume, random CancelTurn requests. For every
input: never a 5xx; a refusal is Twirp JSON; an accepted turn is an event stream that ends with
exactly one terminal event."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.sse_reader import sse_events

STREAM = "/stream/acai.chat.ChatService/"
TERMINAL = {"completed", "failed", "cancelled"}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.text(max_size=30),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(
    str.strip
)


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def conversation_id(base_url, http) -> str:
    response = http.post(
        base_url + "/twirp/acai.chat.ChatService/StartConversation", json={"message": "seed"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["conversation_id"])


def _check(response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert response.headers["content-type"] == "text/event-stream"
        kinds = [e.event for e in sse_events(response)]
        assert kinds[0] == "started"
        assert kinds[-1] in TERMINAL
        assert sum(kind in TERMINAL for kind in kinds) == 1
    else:
        assert response.headers["content-type"] == "application/json"
        error = response.json()
        assert set(error) <= {"code", "msg", "meta"}


@st.composite
def stream_requests(draw, conversation_id: str) -> dict[str, object]:
    method = draw(st.sampled_from(["StartConversation", "ContinueConversation", "Nope", ""]))
    body: dict[str, object] = {"message": "fuzz", "conversation_id": conversation_id}
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(["message", "conversation_id", "idempotency_key", "x"]))
        body[key] = draw(json_values)
    raw = json.dumps(body).encode()
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return {
        "verb": draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT"])),
        "method": method,
        "body": raw,
        "content_type": draw(
            st.sampled_from(["application/json", "application/protobuf", "text/plain", ""])
        ),
    }


def test_stream_requests_never_answer_5xx(base_url, http, conversation_id):
    @FUZZ
    @given(request=stream_requests(conversation_id))
    def run(request):
        headers = {"Content-Type": request["content_type"]} if request["content_type"] else {}
        with http.request(
            str(request["verb"]),
            base_url + STREAM + str(request["method"]),
            data=request["body"],
            headers=headers,
            stream=True,
            timeout=30,
        ) as response:
            _check(response)

    run()


def test_resumes_of_made_up_turns_and_positions_never_answer_5xx(base_url, http):
    @FUZZ
    @given(
        turn=st.one_of(st.text(max_size=40), st.text("0123456789abcdef", min_size=32, max_size=32)),
        position=st.one_of(st.none(), header_text, st.integers(-5, 2**64).map(str)),
        as_header=st.booleans(),
    )
    def run(turn, position, as_header):
        path = "/stream/turns/" + quote(turn, safe="")
        headers, params = {}, {}
        if position is not None:
            if as_header:
                headers["Last-Event-ID"] = position
            else:
                params["after"] = position
        with http.get(
            base_url + path, headers=headers, params=params, stream=True, timeout=30
        ) as response:
            assert response.status_code < 500, response.text
            if response.status_code != 200:
                assert set(response.json()) <= {"code", "msg", "meta"}

    run()


def test_cancel_requests_never_answer_5xx(base_url, http, conversation_id):
    @FUZZ
    @given(
        body=st.dictionaries(
            st.sampled_from(["turn_id", "turnId", "conversation_id", "conversationId", "x"]),
            st.one_of(json_values, st.just(conversation_id), st.just("a" * 32)),
            max_size=3,
        )
    )
    def run(body):
        response = http.post(
            base_url + "/twirp/acai.chat.ChatService/CancelTurn", json=body, timeout=30
        )
        assert response.status_code < 500, response.text
        assert response.status_code in (200, 400, 404), response.text

    run()
