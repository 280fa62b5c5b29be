"""RegenerateReply and EditLastMessage as streamed turns over the real app: the same events,
refusals, resume and cancel as the other stream endpoints (test_streaming.py)."""

from __future__ import annotations

import time

import requests

from tests.e2e.test_streaming import STREAM, describe, resume, stream
from tests.fakes.sse_reader import sse_events


def shown(messages: list[dict]) -> list[tuple[str, bool]]:
    return [(m["content"], m["inactive"]) for m in messages]


def test_a_streamed_regenerate_completes_with_what_describe_shows(server_url, rpc):
    started = rpc("StartConversation", {"message": "again"}).json()
    conversation_id = started["conversation_id"]
    with stream(server_url, "RegenerateReply", {"conversation_id": conversation_id}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        events = list(sse_events(response))
    turn_id = response.headers["x-turn-id"]
    kinds = [e.event for e in events]
    assert (kinds[0], kinds[-1]) == ("started", "completed")
    assert set(kinds) == {"started", "delta", "completed"}
    assert events[0].body == {
        "conversationId": conversation_id,
        "newConversation": False,
        "title": started["title"],
    }
    completed = events[-1].body["regenerate"]
    text = "".join(e.body["text"] for e in events if e.event == "delta")
    assert text == completed["reply"] == "echo: again"
    assert (completed["conversationId"], completed["turnId"]) == (conversation_id, turn_id)
    messages = describe(rpc, conversation_id)["messages"]
    assert shown(messages) == [
        ("again", False),
        (started["reply"], True),
        (completed["reply"], False),
    ]
    assert messages[2]["alternative_of"] == messages[1]["id"]
    # Resumable like any turn.
    with resume(server_url, turn_id, headers={"Last-Event-ID": "1"}) as again:
        assert [e.id for e in sse_events(again)] == [e.id for e in events[1:]]


def test_a_streamed_edit_completes_with_what_describe_shows(server_url, rpc):
    started = rpc("StartConversation", {"message": "frist"}).json()
    conversation_id = started["conversation_id"]
    body = {"conversation_id": conversation_id, "message": "first"}
    with stream(server_url, "EditLastMessage", body) as response:
        events = list(sse_events(response))
    kinds = [e.event for e in events]
    assert (kinds[0], kinds[-1]) == ("started", "completed")
    assert "delta" in kinds
    completed = events[-1].body["edit"]
    text = "".join(e.body["text"] for e in events if e.event == "delta")
    assert text == completed["reply"] == "echo: first"
    assert completed["turnId"] == response.headers["x-turn-id"]
    messages = describe(rpc, conversation_id)["messages"]
    assert shown(messages) == [
        ("frist", True),
        (started["reply"], True),
        ("first", False),
        (completed["reply"], False),
    ]
    assert messages[2]["alternative_of"] == messages[0]["id"]


def test_a_protobuf_edit_streams_and_a_repeated_key_streams_the_first_outcome(
    server_url, rpc, fake_openai
):
    from gen.acai.chat import chat_pb2 as pb

    conversation_id = rpc("StartConversation", {"message": "proto"}).json()["conversation_id"]
    key = f"edit-{time.time_ns()}"
    request = pb.EditLastMessageRequest(
        conversation_id=conversation_id, message="in protobuf", idempotency_key=key
    )
    headers = {"Content-Type": "application/protobuf"}
    with requests.post(
        server_url + STREAM + "EditLastMessage",
        data=request.SerializeToString(),
        headers=headers,
        stream=True,
        timeout=30,
    ) as response:
        first = list(sse_events(response))
    assert first[-1].body["edit"]["reply"] == "echo: in protobuf"
    calls = len(fake_openai.requests)
    body = {"conversation_id": conversation_id, "message": "in protobuf", "idempotency_key": key}
    with stream(server_url, "EditLastMessage", body) as response:
        again = list(sse_events(response))
    assert len(fake_openai.requests) == calls
    assert [e.event for e in again] == ["started", "completed"]
    assert again[0].body["conversationId"] == conversation_id
    assert again[-1].body["edit"]["reply"] == first[-1].body["edit"]["reply"]


def test_the_unary_revisions_carry_their_turn_id(rpc):
    started = rpc("StartConversation", {"message": "unary"}).json()
    conversation_id = started["conversation_id"]
    regenerated = rpc("RegenerateReply", {"conversation_id": conversation_id}).json()
    edited = rpc("EditLastMessage", {"conversation_id": conversation_id, "message": "x"}).json()
    assert len(regenerated["turn_id"]) == len(edited["turn_id"]) == 32
    assert regenerated["turn_id"] != edited["turn_id"]


def test_refusals_before_a_revision_starts_are_twirp_errors(server_url):
    unknown = "0" * 24
    cases = [
        ("RegenerateReply", {"conversation_id": unknown}, 404, "not_found"),
        ("EditLastMessage", {"conversation_id": unknown, "message": "x"}, 404, "not_found"),
        ("RegenerateReply", {}, 400, "invalid_argument"),
        ("EditLastMessage", {"conversation_id": unknown, "message": " "}, 400, "invalid_argument"),
    ]
    for method, body, status, code in cases:
        answer = requests.post(server_url + STREAM + method, json=body, timeout=30)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (method, body)
        assert answer.headers["content-type"] == "application/json"
        assert "x-turn-id" not in answer.headers


def test_cancel_of_a_streamed_regenerate_stores_what_was_sent(server_url, rpc, fake_openai):
    started = rpc("StartConversation", {"message": "stop me"}).json()
    conversation_id = started["conversation_id"]
    fake_openai.latency_s = 1.0
    response = stream(server_url, "RegenerateReply", {"conversation_id": conversation_id})
    events = sse_events(response)
    assert next(events).event == "started"
    turn_id = response.headers["x-turn-id"]
    time.sleep(0.3)  # the provider has the request: the stop comes with its text
    cancel = rpc("CancelTurn", {"turn_id": turn_id})
    assert cancel.json() == {"cancelled": True, "turn_id": turn_id}
    rest = list(events)
    response.close()
    assert rest[-1].event == "cancelled"
    partial = rest[-1].body["partialText"]
    assert partial == "".join(e.body["text"] for e in rest if e.event == "delta")
    assert partial
    assert "echo: stop me".startswith(partial)
    messages = describe(rpc, conversation_id)["messages"]
    assert shown(messages) == [("stop me", False), (started["reply"], True), (partial, False)]
    assert messages[-1]["finish_reason"] == "cancelled"
    assert messages[-1]["alternative_of"] == messages[1]["id"]
    # The next regenerate replaces the stopped reply in turn.
    fake_openai.latency_s = 0.0
    again = rpc("RegenerateReply", {"conversation_id": conversation_id}).json()
    messages = describe(rpc, conversation_id)["messages"]
    assert shown(messages)[-2:] == [(partial, True), (again["reply"], False)]
