"""Streamed turns over the real app: the SSE endpoints, resume and cancel (one worker; several
workers in test_streaming_workers.py)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.fakes.sse_reader import SseEvent, sse_events, sse_messages

STREAM = "/stream/acai.chat.ChatService/"
TURNS = "/stream/turns/"


def stream(server_url: str, method: str, body: object, **kwargs) -> requests.Response:
    return requests.post(server_url + STREAM + method, json=body, stream=True, timeout=30, **kwargs)


def resume(server_url: str, turn_id: str, **kwargs) -> requests.Response:
    return requests.get(server_url + TURNS + turn_id, stream=True, timeout=30, **kwargs)


def describe(rpc, conversation_id: str) -> dict:
    answer = rpc("DescribeConversation", {"conversation_id": conversation_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["conversation"]


def test_a_streamed_start_sends_started_title_text_and_completed(server_url, rpc):
    with stream(server_url, "StartConversation", {"message": "hello"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        events = list(sse_events(response))
    turn_id = response.headers["x-turn-id"]
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert all(int(e.data["seq"]) == e.id and e.data["turnId"] == turn_id for e in events)
    kinds = [e.event for e in events]
    assert (kinds[0], kinds[-1]) == ("started", "completed")
    assert set(kinds) == {"started", "title", "delta", "completed"}
    started, completed = events[0].body, events[-1].body["start"]
    assert started["newConversation"] is True
    assert started["conversationId"] == completed["conversationId"]
    text = "".join(e.body["text"] for e in events if e.event == "delta")
    assert text == completed["reply"] == "echo: hello"
    assert completed["turnId"] == turn_id
    title = next(e.body["title"] for e in events if e.event == "title")
    conversation = describe(rpc, completed["conversationId"])
    assert conversation["title"] == title == completed["title"]
    assert [m["content"] for m in conversation["messages"]] == ["hello", completed["reply"]]
    assert conversation["messages"][1]["finish_reason"] == ""


def test_a_streamed_continue_completes_like_the_unary_call(server_url, rpc):
    started = rpc("StartConversation", {"message": "first"}).json()
    assert len(started["turn_id"]) == 32
    body = {"conversation_id": started["conversation_id"], "message": "second"}
    with stream(server_url, "ContinueConversation", body) as response:
        events = list(sse_events(response))
    assert events[0].body == {
        "conversationId": started["conversation_id"],
        "newConversation": False,
        "title": started["title"],
    }
    completed = events[-1].body["continue"]
    assert completed["reply"] == "echo: second"
    assert completed["conversationId"] == started["conversation_id"]
    messages = describe(rpc, started["conversation_id"])["messages"]
    assert [m["content"] for m in messages][-2:] == ["second", completed["reply"]]


@pytest.mark.parametrize("how", ["header", "query"])
def test_resume_after_n_yields_the_rest_once_in_order(server_url, how):
    with stream(server_url, "StartConversation", {"message": "resume me"}) as response:
        events = list(sse_events(response))
    turn_id = response.headers["x-turn-id"]
    for after in range(len(events) + 1):
        kwargs = (
            {"headers": {"Last-Event-ID": str(after)}}
            if how == "header"
            else {"params": {"after": str(after)}}
        )
        with resume(server_url, turn_id, **kwargs) as again:
            assert again.status_code == 200
            assert again.headers["x-turn-id"] == turn_id
            assert list(sse_events(again)) == events[after:]


def test_a_client_that_drops_the_stream_leaves_the_turn_to_finish(server_url, rpc, fake_openai):
    fake_openai.latency_s = 0.5
    response = stream(server_url, "StartConversation", {"message": "dropped"})
    events = sse_events(response)
    first = next(events)
    response.close()  # gone after the started event
    turn_id = response.headers["x-turn-id"]
    with resume(server_url, turn_id, headers={"Last-Event-ID": "1"}) as again:
        rest = list(sse_events(again))
    assert [first.event, *(e.event for e in rest)][0] == "started"
    assert [e.id for e in rest] == list(range(2, len(rest) + 2))
    completed = rest[-1].body["start"]
    messages = describe(rpc, completed["conversationId"])["messages"]
    assert [m["content"] for m in messages] == ["dropped", completed["reply"]]


def test_refusals_before_the_turn_starts_are_twirp_errors(server_url):
    cases = [
        ("StartConversation", {"message": ""}, 400, "invalid_argument"),
        ("ContinueConversation", {"message": "x"}, 400, "invalid_argument"),
        (
            "ContinueConversation",
            {"conversation_id": "0" * 24, "message": "x"},
            404,
            "not_found",
        ),
        ("ListConversations", {}, 404, "bad_route"),
    ]
    for method, body, status, code in cases:
        answer = requests.post(server_url + STREAM + method, json=body, timeout=30)
        assert (answer.status_code, answer.json()["code"]) == (status, code), method
        assert answer.headers["content-type"] == "application/json"
    malformed = requests.post(
        server_url + STREAM + "StartConversation",
        data=b"{",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed")
    wrong_method = requests.get(server_url + STREAM + "StartConversation", timeout=30)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (404, "bad_route")


def test_unknown_turns_and_bad_positions_are_refused(server_url):
    unknown = requests.get(server_url + TURNS + "f" * 32, timeout=30)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    malformed = requests.get(server_url + TURNS + "not-a-turn", timeout=30)
    assert (malformed.status_code, malformed.json()["code"]) == (404, "not_found")
    bad = requests.get(server_url + TURNS + "f" * 32, params={"after": "-1"}, timeout=30)
    assert (bad.status_code, bad.json()["meta"]["argument"]) == (400, "after")


def test_a_protobuf_request_streams_too(server_url):
    from gen.acai.chat import chat_pb2 as pb

    body = pb.StartConversationRequest(message="in protobuf").SerializeToString()
    headers = {"Content-Type": "application/protobuf"}
    with requests.post(
        server_url + STREAM + "StartConversation", data=body, headers=headers, stream=True
    ) as response:
        events = list(sse_events(response))
    assert events[-1].body["start"]["reply"] == "echo: in protobuf"


def test_an_idle_stream_sends_heartbeats(app_settings, fake_openai):
    from dataclasses import replace

    from chat_service.composition.app import create_app
    from tests.fakes.uvicorn_thread import serve

    fake_openai.latency_s = 1.2
    settings = replace(app_settings, stream_heartbeat_s=0.3)
    with (
        serve(create_app(settings)) as url,
        stream(url, "StartConversation", {"message": "slow"}) as response,
    ):
        messages = list(sse_messages(response))
    comments = [m for m in messages if isinstance(m, str)]
    assert "keep-alive" in comments
    assert isinstance(messages[-1], SseEvent)
    assert messages[-1].event == "completed"


def test_the_provider_failing_after_start_is_a_failed_event_and_stores_nothing(
    server_url, rpc, fake_openai
):
    started = rpc("StartConversation", {"message": "before"}).json()
    fake_openai.script(fake_openai.error(400, "the request is refused"))
    body = {"conversation_id": started["conversation_id"], "message": "fails"}
    with stream(server_url, "ContinueConversation", body) as response:
        events = list(sse_events(response))
    assert [e.event for e in events] == ["started", "failed"]
    assert events[-1].body["code"] == "failed_precondition"
    messages = describe(rpc, started["conversation_id"])["messages"]
    assert [m["content"] for m in messages] == ["before", started["reply"]]


def test_a_repeated_idempotency_key_streams_the_first_outcome(server_url, fake_openai):
    body = {"message": "once", "idempotency_key": f"stream-{time.time_ns()}"}
    with stream(server_url, "StartConversation", body) as response:
        first = list(sse_events(response))
    calls = len(fake_openai.requests)
    with stream(server_url, "StartConversation", body) as response:
        again = list(sse_events(response))
    assert len(fake_openai.requests) == calls
    assert [e.event for e in again] == ["started", "completed"]
    first_done, again_done = first[-1].body["start"], again[-1].body["start"]
    assert again_done["conversationId"] == first_done["conversationId"]
    assert again_done["reply"] == first_done["reply"]


def test_cancel_from_another_connection_stores_what_was_sent(server_url, rpc, fake_openai):
    started = rpc("StartConversation", {"message": "before"}).json()
    fake_openai.latency_s = 1.0
    body = {"conversation_id": started["conversation_id"], "message": "stop me"}
    response = stream(server_url, "ContinueConversation", body)
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
    sent = "".join(e.body["text"] for e in rest if e.event == "delta")
    assert partial == sent
    assert partial
    assert "echo: stop me".startswith(partial)
    messages = describe(rpc, started["conversation_id"])["messages"]
    assert [m["content"] for m in messages] == ["before", "echo: before", "stop me", partial]
    assert messages[-1]["finish_reason"] == "cancelled"
    again = rpc("CancelTurn", {"turn_id": turn_id})
    assert again.json() == {"cancelled": False, "turn_id": turn_id}
    # The next turn sees the stopped reply in its history.
    fake_openai.latency_s = 0.0
    rpc("ContinueConversation", {**body, "message": "next"})
    prompt = fake_openai.requests[-1].json["messages"]
    assert [m.get("content") for m in prompt][1:] == [*(m["content"] for m in messages), "next"]


def test_cancel_by_conversation_and_refusals(server_url, rpc, fake_openai):
    started = rpc("StartConversation", {"message": "before"}).json()
    fake_openai.latency_s = 1.0
    body = {"conversation_id": started["conversation_id"], "message": "stop by conversation"}
    response = stream(server_url, "ContinueConversation", body)
    events = sse_events(response)
    next(events)
    # Stopped before the reply's first text: nothing of the turn is stored.
    cancel = rpc("CancelTurn", {"conversation_id": started["conversation_id"]})
    assert cancel.json()["cancelled"] is True
    assert cancel.json()["turn_id"] == response.headers["x-turn-id"]
    rest = list(events)
    response.close()
    assert rest[-1].event == "cancelled"
    if not rest[-1].body["partialText"]:
        assert len(describe(rpc, started["conversation_id"])["messages"]) == 2
    for request, status, code in [
        ({}, 400, "invalid_argument"),
        ({"turn_id": "nope"}, 400, "invalid_argument"),
        ({"turn_id": "a" * 32}, 404, "not_found"),
        ({"conversation_id": started["conversation_id"]}, 404, "not_found"),
    ]:
        answer = rpc("CancelTurn", request)
        assert (answer.status_code, answer.json()["code"]) == (status, code), request


def test_concurrent_readers_of_one_turn_see_the_same_events(server_url, fake_openai):
    fake_openai.latency_s = 0.5
    response = stream(server_url, "StartConversation", {"message": "shared"})
    turn_id = response.headers["x-turn-id"]
    seen: list[list[SseEvent]] = []

    def read() -> None:
        with resume(server_url, turn_id) as again:
            seen.append(list(sse_events(again)))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    own = list(sse_events(response))
    for reader in readers:
        reader.join(timeout=30)
    assert seen == [own, own, own]


def test_resume_and_cancel_are_owner_scoped(secured_app, fake_openai):
    url = secured_app.url

    def key(owner: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secured_app.keys[owner]}"}

    fake_openai.latency_s = 0.6
    response = stream(url, "StartConversation", {"message": "mine"}, headers=key("alice"))
    turn_id = response.headers["x-turn-id"]
    for attempt in ("running", "ended"):
        theirs = requests.get(url + TURNS + turn_id, headers=key("bob"), timeout=30)
        assert (theirs.status_code, theirs.json()["code"]) == (404, "not_found"), attempt
        cancel = requests.post(
            url + "/twirp/acai.chat.ChatService/CancelTurn",
            json={"turn_id": turn_id},
            headers=key("bob"),
            timeout=30,
        )
        assert (cancel.status_code, cancel.json()["code"]) == (404, "not_found"), attempt
        anonymous = requests.get(url + TURNS + turn_id, timeout=30)
        assert anonymous.status_code == 401
        with resume(url, turn_id, headers=key("alice")) as own:
            assert list(sse_events(own))[-1].event == "completed"
    response.close()


def test_an_owner_at_the_open_streams_cap_is_refused_before_the_turn_starts(
    secured_app, fake_openai
):
    alice = {"Authorization": f"Bearer {secured_app.keys['alice']}"}
    bob = {"Authorization": f"Bearer {secured_app.keys['bob']}"}
    fake_openai.latency_s = 1.0
    open_streams = [
        stream(secured_app.url, "StartConversation", {"message": f"s{i}"}, headers=alice)
        for i in range(secured_app.settings.max_streams_per_owner)
    ]
    try:
        refused = requests.post(
            secured_app.url + STREAM + "StartConversation",
            json={"message": "one too many"},
            headers=alice,
            timeout=30,
        )
        assert (refused.status_code, refused.json()["code"]) == (429, "resource_exhausted")
        assert refused.json()["meta"]["max_streams"] == "8"
        with stream(secured_app.url, "StartConversation", {"message": "b"}, headers=bob) as other:
            assert list(sse_events(other))[-1].event == "completed"
    finally:
        for response in open_streams:
            response.close()
