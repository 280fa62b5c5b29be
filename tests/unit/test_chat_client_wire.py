"""The SDK's wire layer and error parsing, without sockets."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format

from chat_client import errors, results, wire
from chat_client.calls import Calls, sends_idempotency_keys
from chat_client.results import SessionMetadata, detail_from
from chat_client.retry import RetryPolicy, should_retry
from gen.acai.chat import chat_pb2 as pb


def _calls(encoding="json", api_key=None) -> Calls:
    return Calls("http://chat.test/", prefix="/twirp", encoding=encoding, api_key=api_key)


def test_json_call_has_route_content_type_key_and_proto_field_names():
    session = SessionMetadata("cli", user_id="u1", chat_id="c1")
    call = _calls(api_key="k-123").continue_("a" * 24, "hi", session, None)
    assert call.path == "/twirp/acai.chat.ChatService/ContinueConversation"
    assert call.url == "http://chat.test/twirp/acai.chat.ChatService/ContinueConversation"
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Authorization"] == "Bearer k-123"
    assert json.loads(call.body) == {
        "conversation_id": "a" * 24,
        "message": "hi",
        "session_metadata": {"platform": "cli", "user_id": "u1", "chat_id": "c1"},
    }


def test_protobuf_call_serializes_the_generated_message():
    call = _calls("protobuf").start("hello", None, None)
    assert call.headers["Content-Type"] == "application/protobuf"
    assert "Authorization" not in call.headers
    assert pb.StartConversationRequest.FromString(call.body) == pb.StartConversationRequest(
        message="hello"
    )


def test_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="encoding"):
        Calls("http://chat.test", prefix="/twirp", encoding="xml", api_key=None)  # type: ignore[arg-type]


def test_reads_are_resend_safe_and_unkeyed_turns_are_not():
    calls = _calls()
    assert calls.list(0, "").resend_safe
    assert calls.describe("a" * 24, 0, "").resend_safe
    assert not calls.start("x", None, None).resend_safe
    assert not calls.continue_("a" * 24, "x", None, None).resend_safe


def test_optional_fields_are_sent_only_when_the_proto_defines_them():
    message = wire.request(
        "ListConversations", {"page_size": 3}, if_defined={"no_such_field": "x", "page_token": "t"}
    )
    assert message == pb.ListConversationsRequest(page_size=3, page_token="t")
    with pytest.raises(ValueError, match="no_such_field"):
        wire.request("ListConversations", {"no_such_field": 1})


def test_idempotency_key_follows_the_proto():
    call = _calls().start("x", None, "key-1")
    sent = json.loads(call.body)
    if sends_idempotency_keys():
        assert sent["idempotency_key"] == "key-1"
        assert call.resend_safe
    else:
        assert "idempotency_key" not in sent
        assert not call.resend_safe


def _detail_message() -> pb.DescribeConversationResponse:
    response = pb.DescribeConversationResponse(next_page_token="next")
    response.conversation.id = "b" * 24
    response.conversation.title = "Trip"
    response.conversation.timestamp.FromJsonString("2026-11-25T05:00:00.123Z")
    message = response.conversation.messages.add(id="m1", role=pb.Conversation.USER, content="hi")
    message.timestamp.FromJsonString("2026-11-25T05:00:00Z")
    return response


def test_protobuf_and_json_answers_decode_to_the_same_result():
    message = _detail_message()

    as_json = json.dumps(json_format.MessageToDict(message)).encode()  # lowerCamelCase too
    json_call = _calls("json").describe("b" * 24, 0, "")
    proto_call = _calls("protobuf").describe("b" * 24, 0, "")
    from_json = detail_from(wire.answer(json_call, 200, as_json))
    from_proto = detail_from(wire.answer(proto_call, 200, message.SerializeToString()))
    assert from_json == from_proto
    assert from_json.next_page_token == "next"
    assert from_json.conversation.title == "Trip"
    stamp = from_json.conversation.timestamp
    assert stamp is not None
    assert stamp.isoformat() == "2026-11-25T05:00:00.123000+00:00"
    [only] = from_json.conversation.messages
    assert (only.role, only.content, only.tool_calls) == ("USER", "hi", ())


def test_an_undecodable_answer_is_internal():
    call = _calls("protobuf").describe("b" * 24, 0, "")
    with pytest.raises(errors.Internal, match="could not be decoded"):
        wire.answer(call, 200, b"\xff\xff\xff")


def test_twirp_error_body_becomes_its_class():
    body = b'{"code":"invalid_argument","msg":"message is required","meta":{"argument":"message"}}'
    error = errors.error_from_response(400, body)
    assert isinstance(error, errors.InvalidArgument)
    assert (error.msg, error.meta, error.http_status) == (
        "message is required",
        {"argument": "message"},
        400,
    )
    assert str(error) == "invalid_argument: message is required"
    assert not error.from_intermediary


@pytest.mark.parametrize("code", sorted(errors.ERROR_TYPES))
def test_every_twirp_code_has_its_class(code):
    error = errors.error_from_response(500, json.dumps({"code": code, "msg": "m"}).encode())
    assert type(error).code == code
    assert isinstance(error, errors.TwirpError)


def test_an_unknown_code_is_unknown():
    error = errors.error_from_response(500, b'{"code":"brand_new","msg":"m"}')
    assert type(error) is errors.Unknown


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (502, errors.Unavailable),
        (503, errors.Unavailable),
        (429, errors.ResourceExhausted),
        (401, errors.Unauthenticated),
        (404, errors.BadRoute),
        (418, errors.Unknown),
    ],
)
def test_a_proxy_page_maps_by_http_status(status, error_type):
    error = errors.error_from_response(status, b"<html>Bad Gateway</html>", retry_after="7")
    assert type(error) is error_type
    assert error.from_intermediary
    assert error.meta["status_code"] == str(status)
    assert error.retry_after_s == 7.0


def _aborted(reason: str):
    body = f'{{"code":"aborted","msg":"x","meta":{{"reason":"{reason}"}}}}'.encode()
    return errors.error_from_response(409, body)


def _unavailable(status=503, body=b'{"code":"unavailable","msg":"down"}'):
    return errors.error_from_response(status, body)


@pytest.mark.parametrize(
    ("exc", "resend_safe", "expected"),
    [
        (_unavailable(), False, True),
        (_unavailable(502, b"<html/>"), False, False),
        (_unavailable(502, b"<html/>"), True, True),
        (_unavailable(503, b"<html/>"), False, True),
        (errors.ConnectionFailed("refused", before_send=True), False, True),
        (errors.ConnectionFailed("reset", before_send=False), False, False),
        (errors.ConnectionFailed("reset", before_send=False), True, True),
        (errors.TimedOut("slow"), True, False),
        (errors.error_from_response(429, b'{"code":"resource_exhausted","msg":"x"}'), True, False),
        (errors.error_from_response(500, b'{"code":"internal","msg":"x"}'), True, False),
        (_aborted("write_conflict"), False, True),
        (_aborted("turn_busy"), False, True),
        (_aborted("idempotency_key_in_use"), False, True),
        (_aborted("tool_rounds_exhausted"), True, False),
        (_aborted("repeated_tool_call"), True, False),
    ],
)
def test_retry_rules(exc, resend_safe, expected):
    assert should_retry(exc, resend_safe=resend_safe) is expected


def test_negative_retry_settings_are_refused():
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(retries=-1)


def test_a_call_parses_its_answer_into_the_methods_result():
    call = _calls("protobuf").describe("b" * 24, 0, "")
    detail = call.result(200, _detail_message().SerializeToString(), {})
    assert detail == detail_from(wire.answer(call, 200, _detail_message().SerializeToString()))
    turn = _calls("json").continue_("b" * 24, "hi", None, None)
    assert turn.result(200, b'{"reply":"hello"}', {}).reply == "hello"


def test_a_call_raises_its_error_with_the_retry_after_header():
    call = _calls().start("x", None, None)
    body = b'{"code":"resource_exhausted","msg":"slow down"}'
    with pytest.raises(errors.ResourceExhausted) as raised:
        call.result(429, body, {"Retry-After": "3"})
    assert raised.value.retry_after_s == 3.0


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"status":"healthy","checks":{"mongo":"ok"}}', ("healthy", {"mongo": "ok"})),
        (503, b'{"status":"unhealthy","checks":[]}', ("unhealthy", {})),
        (502, b"<html>Bad Gateway</html>", ("unknown", {})),
        (200, b'["healthy"]', ("unknown", {})),
    ],
)
def test_health_reads_any_answer(status, body, expected):
    health = wire.health(status, body)
    assert (health.status, dict(health.checks), health.http_status) == (*expected, status)


def test_pages_of_a_conversation_join_into_one():
    def page(message_id: str, token: str):
        response = _detail_message()
        response.next_page_token = token
        response.conversation.messages[0].id = message_id
        return detail_from(json_format.MessageToDict(response, preserving_proto_field_name=True))

    joined = results.joined([page("m1", "t"), page("m2", "")])
    assert (joined.id, joined.title) == ("b" * 24, "Trip")
    assert [m.id for m in joined.messages] == ["m1", "m2"]
