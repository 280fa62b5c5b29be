"""The Python SDK (sync and async, JSON and protobuf) against the real app."""

from __future__ import annotations

import pytest

from chat_client import (
    InvalidArgument,
    NotFound,
    RetryPolicy,
    SessionMetadata,
)
from chat_service.core import prompts
from tests.fakes.chat_clients import make_client
from tests.fakes.openai_wire import echo_responder, error_reply

FAST = RetryPolicy(retries=2, backoff_base_s=0.001, backoff_max_s=0.01)


@pytest.fixture(params=["sync", "async"])
def kind(request):
    return request.param


@pytest.fixture(params=["protobuf", "json"])
def sdk(request, kind, server_url):
    return make_client(kind, server_url, encoding=request.param, retry=FAST, timeout_s=30)


def test_a_conversation_round_trip(sdk):
    session = SessionMetadata("api", user_id="u-1", chat_id="c-1")
    started = sdk.start_conversation("Plan a weekend in Lisbon", session=session)
    assert len(started.conversation_id) == 24
    assert started.reply == "echo: Plan a weekend in Lisbon"
    assert started.title
    reply = sdk.continue_conversation(started.conversation_id, "And Sunday?", session=session)
    assert reply.reply == "echo: And Sunday?"

    conversation = sdk.get_conversation(started.conversation_id, page_size=1)
    assert conversation.id == started.conversation_id
    assert conversation.title == started.title
    assert [(m.role, m.content) for m in conversation.messages] == [
        ("USER", "Plan a weekend in Lisbon"),
        ("ASSISTANT", "echo: Plan a weekend in Lisbon"),
        ("USER", "And Sunday?"),
        ("ASSISTANT", "echo: And Sunday?"),
    ]
    assert all(m.timestamp is not None and m.timestamp.tzinfo for m in conversation.messages)


def test_describe_pages_through_messages(sdk):
    started = sdk.start_conversation("one")
    sdk.continue_conversation(started.conversation_id, "two")
    first = sdk.describe_conversation(started.conversation_id, page_size=3)
    assert [m.content for m in first.conversation.messages] == ["one", "echo: one", "two"]
    second = sdk.describe_conversation(
        started.conversation_id, page_size=3, page_token=first.next_page_token
    )
    assert [m.content for m in second.conversation.messages] == ["echo: two"]
    assert second.next_page_token == ""


def test_list_pages_newest_first(sdk):
    ids = [sdk.start_conversation(f"topic {n}").conversation_id for n in range(3)]
    first = sdk.list_conversations(page_size=2)
    assert len(first.conversations) == 2
    assert first.next_page_token
    assert all(c.messages == () for c in first.conversations)
    assert [c.id for c in first.conversations] == list(reversed(ids))[:2]
    listed = [c.id for c in sdk.iter_conversations(page_size=2)]
    assert [i for i in listed if i in ids] == list(reversed(ids))
    assert len(listed) == len(set(listed))


def test_unknown_conversation_is_not_found(sdk):
    with pytest.raises(NotFound) as raised:
        sdk.continue_conversation("f" * 24, "hello")
    assert raised.value.http_status == 404


def test_a_blank_message_is_invalid_argument_naming_the_field(sdk):
    with pytest.raises(InvalidArgument) as raised:
        sdk.start_conversation("   ")
    assert raised.value.meta == {"argument": "message"}


def test_health_reports_each_dependency(sdk):
    health = sdk.health()
    assert health.status == "healthy"
    assert health.checks == {"mongodb": "ok", "redis": "ok", "llm:openai:gpt-test": "ok"}
    assert health.http_status == 200


def _is_title_request(request: dict) -> bool:
    return request["messages"][0]["content"].startswith(prompts.TITLE_INSTRUCTION)


def test_a_turn_the_model_fails_is_retried_and_stored_once(kind, server_url, fake_openai):
    failed = []

    def flaky(request):
        if not _is_title_request(request) and not failed:
            failed.append(True)
            return error_reply(503, "overloaded")
        return echo_responder(request)

    fake_openai.responder = flaky
    try:
        sdk = make_client(kind, server_url, retry=FAST, timeout_s=30)
        started = sdk.start_conversation("try twice")
    finally:
        fake_openai.responder = echo_responder
    assert failed == [True]
    assert started.reply == "echo: try twice"
    conversation = sdk.get_conversation(started.conversation_id)
    assert [m.content for m in conversation.messages] == ["try twice", "echo: try twice"]


def test_rename_and_delete(sdk):
    started = sdk.start_conversation("name me")

    renamed = sdk.update_conversation(started.conversation_id, title="  Lisbon  ")
    assert (renamed.id, renamed.title, renamed.messages) == (started.conversation_id, "Lisbon", ())
    assert sdk.describe_conversation(started.conversation_id).conversation.title == "Lisbon"
    with pytest.raises(InvalidArgument) as raised:
        sdk.update_conversation(started.conversation_id, title="")
    assert raised.value.meta == {"argument": "title"}

    assert sdk.delete_conversation(started.conversation_id) is True
    assert sdk.delete_conversation(started.conversation_id) is False
    with pytest.raises(NotFound):
        sdk.describe_conversation(started.conversation_id)


def test_models_instructions_regenerate_and_edit(sdk):
    [model] = sdk.list_models()
    assert (model.id, model.provider, model.is_default) == ("openai:gpt-test", "openai", True)
    with pytest.raises(InvalidArgument) as raised:
        sdk.start_conversation("hi", model="openai:unknown")
    assert raised.value.meta == {"argument": "model"}

    started = sdk.start_conversation("Pick one", model=model.id, instructions="Be brief.")
    regenerated = sdk.regenerate_reply(started.conversation_id)
    edited = sdk.edit_last_message(started.conversation_id, "Pick two")
    assert (regenerated.reply, edited.reply) == ("echo: Pick one", "echo: Pick two")

    conversation = sdk.get_conversation(started.conversation_id)
    assert (conversation.model, conversation.instructions) == (model.id, "Be brief.")
    assert [(m.content, m.inactive, m.version) for m in conversation.messages] == [
        ("Pick one", True, 1),
        ("echo: Pick one", True, 1),
        ("echo: Pick one", True, 2),
        ("Pick two", False, 3),
        ("echo: Pick two", False, 3),
    ]
    assert conversation.messages[-1].model == "openai:gpt-test"
    changed = sdk.update_conversation(started.conversation_id, instructions="", model="")
    assert (changed.model, changed.instructions, changed.title) == ("", "", conversation.title)

    assert sdk.set_default_instructions("Use metric units.") == "Use metric units."
    assert sdk.default_instructions() == "Use metric units."
    assert sdk.set_default_instructions("") == ""
