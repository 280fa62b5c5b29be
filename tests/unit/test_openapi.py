"""The OpenAPI description generated from the proto: valid, complete, and true to the wire."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format
from jsonschema.exceptions import ValidationError

from chat_service.edge.web_pages import OPENAPI_PATH, openapi_document
from gen.acai.chat import chat_pb2 as pb

validator = pytest.importorskip("openapi_spec_validator")
schema_validator = pytest.importorskip("openapi_schema_validator")

SERVICE = pb.DESCRIPTOR.services_by_name["ChatService"]


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def test_the_committed_spec_is_valid_openapi(spec):
    validator.validate(spec)


def test_every_method_has_a_post_path_with_its_messages(spec):
    for method in SERVICE.methods:
        operation = spec["paths"][f"/twirp/acai.chat.ChatService/{method.name}"]["post"]
        request = operation["requestBody"]["content"]["application/json"]["schema"]
        response = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert request == {"$ref": f"#/components/schemas/{method.input_type.name}"}
        assert response == {"$ref": f"#/components/schemas/{method.output_type.name}"}
        assert operation["description"]
        assert "application/protobuf" in operation["requestBody"]["content"]


def test_every_field_is_described_under_its_proto_name(spec):
    schemas = spec["components"]["schemas"]
    for message in pb.DESCRIPTOR.message_types_by_name.values():
        assert set(schemas[message.name]["properties"]) == set(message.fields_by_name)
    assert schemas["Conversation.Role"]["enum"] == ["UNKNOWN", "USER", "ASSISTANT", "TOOL"]
    timestamp = schemas["Conversation"]["properties"]["timestamp"]
    assert timestamp["format"] == "date-time"
    assert timestamp["description"] == "When the conversation last changed."


def test_error_responses_come_from_the_comments(spec):
    path = spec["paths"]["/twirp/acai.chat.ChatService/ContinueConversation"]["post"]
    assert set(path["responses"]) == {"200", "400", "404", "409", "412", "429", "500", "503"}
    assert path["responses"]["400"]["description"] == "Twirp error: invalid_argument, malformed"
    assert path["responses"]["429"]["description"] == "Twirp error: resource_exhausted"
    start = spec["paths"]["/twirp/acai.chat.ChatService/StartConversation"]["post"]
    assert "404" not in start["responses"]


def test_a_wire_answer_validates_against_its_schema(spec):
    answer = pb.DescribeConversationResponse(next_page_token="t")
    answer.conversation.id = "a" * 24
    answer.conversation.timestamp.FromJsonString("2026-11-25T05:00:00Z")
    answer.conversation.messages.add(id="m", role=pb.Conversation.USER, content="hi")
    body = json_format.MessageToDict(
        answer, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    schema = {
        "$ref": "#/components/schemas/DescribeConversationResponse",
        "components": spec["components"],
    }
    schema_validator.validate(body, schema, cls=schema_validator.OAS30Validator)
    body["conversation"]["messages"][0]["role"] = "ROBOT"
    with pytest.raises(ValidationError, match="ROBOT"):
        schema_validator.validate(body, schema, cls=schema_validator.OAS30Validator)


def test_the_served_spec_follows_the_configured_prefix():
    document = openapi_document(twirp_prefix="/api/v1")
    assert sorted(p for p in document["paths"] if not p.startswith("/stream/")) == sorted(
        f"/api/v1/acai.chat.ChatService/{m.name}" for m in SERVICE.methods
    )
    assert sorted(openapi_document(twirp_prefix="")["paths"])[0].startswith("/acai.chat.")
    assert sorted(p for p in document["paths"] if p.startswith("/stream/")) == [
        "/stream/acai.chat.ChatService/ContinueConversation",
        "/stream/acai.chat.ChatService/EditLastMessage",
        "/stream/acai.chat.ChatService/RegenerateReply",
        "/stream/acai.chat.ChatService/StartConversation",
        "/stream/turns/{turn_id}",
    ]


def test_the_stream_endpoints_and_their_events_are_described(spec):
    for method in ("StartConversation", "ContinueConversation"):
        operation = spec["paths"][f"/stream/acai.chat.ChatService/{method}"]["post"]
        request = operation["requestBody"]["content"]["application/json"]["schema"]
        assert request == {"$ref": f"#/components/schemas/{method}Request"}
        ok = operation["responses"]["200"]
        assert ok["content"]["text/event-stream"]["schema"] == {
            "$ref": "#/components/schemas/TurnEvent"
        }
        for kind in ("started", "title", "delta", "tool_call_started", "completed", "cancelled"):
            assert f"`{kind}`" in ok["description"]
        assert {"400", "429", "503"} <= set(operation["responses"])
    resume = spec["paths"]["/stream/turns/{turn_id}"]["get"]
    assert {p["name"] for p in resume["parameters"]} == {"turn_id", "Last-Event-ID", "after"}
    assert "404" in resume["responses"]
    assert spec["components"]["schemas"]["TurnFailed"]["properties"]["meta"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
