"""Conversation controls end to end, over both fake providers: the model a conversation
chooses, its standing instructions, RegenerateReply and EditLastMessage."""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from pathlib import Path

import pymongo
import pytest
import requests

import migrations
from chat_service.composition.app import create_app
from chat_service.config import Secret, Settings
from tests.e2e.conftest import ROUTE
from tests.e2e.test_web_page import TIMEOUT_MS
from tests.e2e.test_web_page import browser as browser  # the module's Chromium fixture
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.uvicorn_thread import serve

TITLE_MARK = "You write the title"
# Like test_web_page's: docs/screenshots/web-conversation-controls.png is a copy of this one.
SCREENSHOTS = Path(
    os.environ.get(
        "TEST_ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
    )
)


class Numbered:
    """A responder that answers every reply request with a new numbered text (titles get a
    fixed one), so each regenerate's answer differs from the one before."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, request):
        if TITLE_MARK in _system_text(request):
            return "Test Title"
        with self._lock:
            number = next(self._count)
        users = [m for m in request["messages"] if m["role"] == "user"]
        last = users[-1]["content"] if users else ""
        return f"{self._prefix} {number}: {_text(last)}"


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def _system_text(request) -> str:
    system = request.get("system")
    if system is not None:
        return _text(system)
    return "".join(_text(m["content"]) for m in request["messages"] if m["role"] == "system")


@pytest.fixture(scope="module")
def openai():
    with FakeOpenAIServer(responder=Numbered("gpt")) as server:
        yield server


@pytest.fixture(scope="module")
def claude():
    with FakeAnthropicServer(responder=Numbered("claude")) as server:
        yield server


@pytest.fixture(scope="module")
def url(redis_url, mongo_uri, openai, claude):
    settings = Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"e2e_controls_{uuid.uuid4().hex[:12]}",
        llm_providers="openai,anthropic",
        models="openai:gpt-test,anthropic:claude-test=Claude (test)",
        openai_api_key=Secret("sk-test"),
        openai_base_url=openai.url,
        anthropic_api_key=Secret("sk-ant-test"),
        anthropic_base_url=claude.url,
        max_instructions_chars=200,
        retry_max_attempts=1,
        circuit_breaker_max_failures=1000,
        llm_timeout_s=10,
        api_rate_limit_rps=0,
    )
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        with serve(create_app(settings)) as app_url:
            yield app_url
        client.drop_database(settings.mongo_database)


@pytest.fixture(autouse=True)
def _fresh_fakes(openai, claude):
    openai.reset()
    claude.reset()


def post(url, method, body):
    return requests.post(url + ROUTE + method, json=body, timeout=30)


def ok(url, method, body):
    response = post(url, method, body)
    assert response.status_code == 200, response.text
    return response.json()


def describe(url, conversation_id):
    return ok(url, "DescribeConversation", {"conversation_id": conversation_id})["conversation"]


def reply_requests(server):
    return [r.json for r in server.requests if TITLE_MARK not in _system_text(r.json)]


def test_list_models_shows_the_allow_list_default_first(url):
    models = ok(url, "ListModels", {})["models"]

    assert [(m["id"], m["display_name"], m["provider"], m["is_default"]) for m in models] == [
        ("openai:gpt-test", "gpt-test", "openai", True),
        ("anthropic:claude-test", "Claude (test)", "anthropic", False),
    ]


def test_an_unknown_model_is_invalid_argument_naming_the_allowed_ones(url):
    response = post(url, "StartConversation", {"message": "hi", "model": "openai:gpt-9"})

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["meta"]) == ("invalid_argument", {"argument": "model"})
    assert "openai:gpt-test, anthropic:claude-test" in body["msg"]


def test_a_conversation_on_the_anthropic_model_answers_from_it(url, openai, claude):
    started = ok(url, "StartConversation", {"message": "Hello", "model": "anthropic:claude-test"})

    assert started["reply"].startswith("claude ")
    assert reply_requests(openai) == []
    conversation = describe(url, started["conversation_id"])
    assert conversation["model"] == "anthropic:claude-test"
    assert conversation["messages"][-1]["model"] == "anthropic:claude-test"

    # The default conversation asks OpenAI: the cache keys on the model asked for.
    default = ok(url, "StartConversation", {"message": "Hello"})
    assert default["reply"].startswith("gpt ")
    assert describe(url, default["conversation_id"])["model"] == ""


def test_regenerate_twice_then_continue_sends_only_the_active_path(url, claude):
    started = ok(url, "StartConversation", {"message": "Tell me", "model": "anthropic:claude-test"})
    conversation_id = started["conversation_id"]
    first = started["reply"]

    second = ok(url, "RegenerateReply", {"conversation_id": conversation_id})["reply"]
    third = ok(url, "RegenerateReply", {"conversation_id": conversation_id})["reply"]
    claude.reset()
    ok(url, "ContinueConversation", {"conversation_id": conversation_id, "message": "And more"})

    assert len({first, second, third}) == 3
    [request] = reply_requests(claude)
    assert [(m["role"], _text(m["content"])) for m in request["messages"]] == [
        ("user", "Tell me"),
        ("assistant", third),
        ("user", "And more"),
    ]
    messages = describe(url, conversation_id)["messages"]
    shown = [(m["role"], m["content"], m["inactive"], m["version"]) for m in messages]
    assert shown[:4] == [
        ("USER", "Tell me", False, 1),
        ("ASSISTANT", first, True, 1),
        ("ASSISTANT", second, True, 2),
        ("ASSISTANT", third, False, 3),
    ]
    assert messages[2]["alternative_of"] == messages[1]["id"]
    assert messages[3]["alternative_of"] == messages[2]["id"]


def test_edit_last_message_keeps_the_earlier_exchange_as_alternatives(url, claude):
    started = ok(url, "StartConversation", {"message": "First", "model": "anthropic:claude-test"})
    conversation_id = started["conversation_id"]
    asked = ok(url, "ContinueConversation", {"conversation_id": conversation_id, "message": "Typo"})
    claude.reset()

    edited = ok(url, "EditLastMessage", {"conversation_id": conversation_id, "message": "Fixed"})

    [request] = reply_requests(claude)
    assert [_text(m["content"]) for m in request["messages"]] == [
        "First",
        started["reply"],
        "Fixed",
    ]
    messages = describe(url, conversation_id)["messages"]
    assert [(m["content"], m["inactive"], m["version"]) for m in messages] == [
        ("First", False, 1),
        (started["reply"], False, 1),
        ("Typo", True, 1),
        (asked["reply"], True, 1),
        ("Fixed", False, 2),
        (edited["reply"], False, 2),
    ]
    assert messages[4]["alternative_of"] == messages[2]["id"]


def test_instructions_follow_the_service_prompt_and_show_in_describe(url, openai):
    started = ok(url, "StartConversation", {"message": "Hi", "instructions": "Answer in French."})
    conversation_id = started["conversation_id"]

    [request] = reply_requests(openai)
    system = _system_text(request)
    assert system.startswith("You are a helpful assistant.")
    assert system.endswith("<instructions>\nAnswer in French.\n</instructions>")
    assert describe(url, conversation_id)["instructions"] == "Answer in French."

    changed = ok(
        url,
        "UpdateConversation",
        {"conversation_id": conversation_id, "instructions": "", "model": "anthropic:claude-test"},
    )["conversation"]
    assert (changed["instructions"], changed["model"]) == ("", "anthropic:claude-test")
    too_long = post(url, "StartConversation", {"message": "Hi", "instructions": "x" * 201})
    assert too_long.status_code == 400
    assert too_long.json()["meta"] == {"argument": "instructions"}


def test_owner_default_instructions_apply_to_conversations_without_their_own(url, openai):
    try:
        stored = ok(url, "SetDefaultInstructions", {"instructions": "Be brief."})
        assert stored == {"instructions": "Be brief."}
        assert ok(url, "GetDefaultInstructions", {}) == {"instructions": "Be brief."}
        ok(url, "StartConversation", {"message": "Default instructions?"})
        ok(url, "StartConversation", {"message": "Own ones?", "instructions": "Be long."})
    finally:
        ok(url, "SetDefaultInstructions", {"instructions": ""})

    systems = [_system_text(r) for r in reply_requests(openai)]
    assert systems[0].endswith("<instructions>\nBe brief.\n</instructions>")
    assert systems[1].endswith("<instructions>\nBe long.\n</instructions>")


def test_a_fallback_answer_records_the_model_that_answered(url, openai, claude):
    claude.responder = lambda request: FakeAnthropicServer.error(529, "overloaded")
    try:
        started = ok(
            url, "StartConversation", {"message": "Anyone?", "model": "anthropic:claude-test"}
        )
    finally:
        claude.responder = Numbered("claude")

    assert started["reply"].startswith("gpt ")
    messages = describe(url, started["conversation_id"])["messages"]
    assert messages[-1]["model"] == "openai:gpt-test"


def test_regenerate_and_edit_validate_their_input(url):
    missing = post(url, "RegenerateReply", {"conversation_id": "0123456789abcdef01234567"})
    blank = post(url, "EditLastMessage", {"conversation_id": "0123456789abcdef01234567"})
    bad_id = post(url, "RegenerateReply", {"conversation_id": "nope"})

    assert missing.status_code == 404
    assert (blank.status_code, blank.json()["meta"]) == (400, {"argument": "message"})
    assert (bad_id.status_code, bad_id.json()["meta"]) == (400, {"argument": "conversation_id"})


def test_the_page_picks_a_model_regenerates_edits_and_shows_alternatives(browser, url):
    from playwright.sync_api import expect  # the fixture skipped the test without playwright

    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page.locator("#model option")).to_have_count(2)
        assert page.locator("#model option").all_inner_texts() == [
            "gpt-test (default)",
            "Claude (test)",
        ]
        page.select_option("#model", "anthropic:claude-test")
        page.fill("#instructions", "Answer like a travel guide.")
        page.fill("#message", "Plan a weekend in Lisbon")
        page.press("#message", "Enter")
        expect(page.locator(".message.assistant:not(.pending)")).to_have_count(1)
        conversation_id = page.evaluate("location.hash.slice(1)")
        assert describe(url, conversation_id)["model"] == "anthropic:claude-test"

        page.click("#regenerate")
        expect(page.locator("#alternative-count")).to_have_text("1")
        expect(page.locator(".message.inactive")).to_be_hidden()
        page.once("dialog", lambda dialog: dialog.accept("Plan a weekend in Porto"))
        page.click("#edit-last")
        expect(page.locator("#alternative-count")).to_have_text("3")
        visible = page.locator(".message:not(.inactive) .text").all_inner_texts()
        assert visible[0] == "Plan a weekend in Porto"
        assert visible[1].startswith("claude ")
        assert visible[1].endswith("Plan a weekend in Porto")

        page.check("#show-alternatives")
        expect(page.locator(".message.inactive").first).to_be_visible()
        assert page.input_value("#instructions") == "Answer like a travel guide."
        assert page.input_value("#model") == "anthropic:claude-test"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "web-conversation-controls.png"))

        page.select_option("#model", "")
        page.click("#save-settings")
        expect(page.locator("#save-settings")).to_be_hidden()
        assert describe(url, conversation_id)["model"] == ""
    finally:
        context.close()


def test_a_repeated_regenerate_with_its_key_answers_once(url, openai):
    started = ok(url, "StartConversation", {"message": "Once only"})
    body = {"conversation_id": started["conversation_id"], "idempotency_key": "regen-1"}

    first = ok(url, "RegenerateReply", body)
    again = ok(url, "RegenerateReply", body)
    other = post(url, "EditLastMessage", {**body, "message": "x"})

    assert again == first
    assert other.status_code == 200  # keys are per method: an edit is another request
    versions = [m["version"] for m in describe(url, started["conversation_id"])["messages"]]
    assert versions == [1, 1, 2, 3, 3]


def test_regenerate_and_edit_report_their_usage(url):
    started = ok(url, "StartConversation", {"message": "Count my tokens"})
    regenerated = ok(url, "RegenerateReply", {"conversation_id": started["conversation_id"]})
    edited = ok(
        url,
        "EditLastMessage",
        {"conversation_id": started["conversation_id"], "message": "Count them again"},
    )

    for usage in (regenerated["usage"], edited["usage"]):
        assert usage["cached"] is False
        assert int(usage["input_tokens"]) > 0
        assert [call["operation"] for call in usage["calls"]] == ["reply"]
