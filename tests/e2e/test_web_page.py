"""The chat page at / and the API docs at /docs, in a real headless Chromium (Playwright).

Skipped, with the reason, when the `playwright` package or a Chromium binary is missing:
`make browser` installs Debian's chromium. Screenshots go to $TEST_ARTIFACTS_DIR
(default var/test-artifacts/).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from twirp.context import Context
from twirp.exceptions import TwirpServerException

from chat_service.core import prompts
from gen.acai.chat import chat_pb2 as pb
from tests.fakes.sse_stream import Pacing

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


def _chromium() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Module scope: Playwright's sync API keeps an event loop running on this thread while it is
# open, which would break asyncio.run() in tests of other modules.
@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="the playwright package is not installed (pip install -e '.[browser]', or make install)",
    )
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium binary (run `make browser`, or set CHROMIUM_PATH)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server_url)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    directory = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "var" / "test-artifacts"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _send(page, text: str) -> None:
    page.fill("#message", text)
    page.press("#message", "Enter")


def _assistant_texts(page) -> list[str]:
    return page.locator(".message.assistant:not(.pending) .text").all_inner_texts()


def _wait_count(page, selector: str, count: int) -> None:
    # A locator assertion, not wait_for_function: that evaluates a string, which the pages'
    # Content-Security-Policy (no 'unsafe-eval') refuses.
    from playwright.sync_api import expect  # the module is skipped without playwright

    expect(page.locator(selector)).to_have_count(count, timeout=TIMEOUT_MS)


def _wait_assistant_count(page, count: int) -> None:
    _wait_count(page, ".message.assistant:not(.pending)", count)


def test_a_new_chat_is_started_continued_listed_and_reopened(page, server_url, artifacts):
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    page.goto("/")
    assert page.inner_text("#title") == "New chat"

    _send(page, "Plan a weekend in Lisbon")
    _wait_assistant_count(page, 1)
    assert _assistant_texts(page) == ["echo: Plan a weekend in Lisbon"]
    conversation_id = page.evaluate("location.hash.slice(1)")
    assert len(conversation_id) == 24
    current = page.locator(f'[data-conversation-id="{conversation_id}"]')
    assert current.get_attribute("aria-current") == "true"
    assert page.input_value("#message") == ""

    _send(page, "And Sunday?")
    _wait_assistant_count(page, 2)
    assert _assistant_texts(page)[-1] == "echo: And Sunday?"

    page.click("#new-chat")
    assert page.inner_text("#title") == "New chat"
    assert page.locator(".message").count() == 0

    current.click()
    _wait_count(page, ".message", 4)
    roles = page.locator(".message").evaluate_all("nodes => nodes.map(n => n.dataset.role)")
    assert roles == ["USER", "ASSISTANT", "USER", "ASSISTANT"]
    assert page.inner_text("#title") not in ("New chat", "Loading…")

    page.screenshot(path=str(artifacts / "web-chat-reopened.png"))
    assert all(url.startswith(server_url) for url in requests_seen), "no CDN or other host"


def test_a_deep_link_opens_the_conversation(page, server_url):
    page.goto("/")
    _send(page, "remember this")
    _wait_assistant_count(page, 1)
    conversation_id = page.evaluate("location.hash.slice(1)")
    page.goto(f"/#{conversation_id}")
    _wait_count(page, ".message", 2)
    assert _assistant_texts(page) == ["echo: remember this"]


def test_a_conversation_is_renamed_and_deleted_from_the_page(page, client):
    from playwright.sync_api import expect  # the module is skipped without playwright

    page.goto("/")
    assert page.locator("#conversation-actions").is_hidden()  # nothing to rename in a new chat
    _send(page, "name me")
    _wait_assistant_count(page, 1)
    conversation_id = page.evaluate("location.hash.slice(1)")
    item = page.locator(f'[data-conversation-id="{conversation_id}"]')

    page.once("dialog", lambda dialog: dialog.accept("Trip to Lisbon"))
    page.click("#rename")
    expect(page.locator("#title")).to_have_text("Trip to Lisbon")
    expect(item.locator(".name")).to_have_text("Trip to Lisbon")
    stored = client.DescribeConversation(
        ctx=Context(), request=pb.DescribeConversationRequest(conversation_id=conversation_id)
    )
    assert stored.conversation.title == "Trip to Lisbon"

    page.once("dialog", lambda dialog: dialog.dismiss())  # a cancelled delete deletes nothing
    page.click("#delete")
    expect(item).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    expect(item).to_have_count(0)
    expect(page.locator("#title")).to_have_text("New chat")
    with pytest.raises(TwirpServerException) as raised:
        client.DescribeConversation(
            ctx=Context(), request=pb.DescribeConversationRequest(conversation_id=conversation_id)
        )
    assert raised.value.code.value == "not_found"


def test_errors_are_shown_plainly_and_the_draft_is_kept(page):
    page.goto("/")
    too_long = "x" * 2001  # the e2e server allows 2000 characters
    _send(page, too_long)
    page.wait_for_selector("#error:not([hidden])")
    error = page.inner_text("#error-text")
    assert error.startswith("invalid_argument: ")
    assert "argument=message" in error
    assert page.input_value("#message") == too_long
    assert page.locator(".message").count() == 0

    page.goto("/#ffffffffffffffffffffffff")
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error-text") == "not_found: conversation not found"


def test_the_api_key_is_stored_and_sent_as_a_bearer_token(page):
    page.goto("/")
    page.click("#key-toggle")
    page.fill("#api-key", "k-test-123")
    page.click("#key-form button[type=submit]")
    assert page.inner_text("#key-toggle") == "API key ✓"
    with page.expect_request("**/StartConversation") as sent:
        _send(page, "with a key")
    assert sent.value.headers["authorization"] == "Bearer k-test-123"
    # The e2e service runs open, and an open service refuses a key that does not exist.
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error-text").startswith("unauthenticated: the API key is not valid")
    page.reload()
    assert page.evaluate("localStorage.getItem('chat.apiKey')") == "k-test-123"


def test_tool_calls_are_shown(page):
    # The service records tool calls on messages; this page must render them. The answer is
    # a DescribeConversation body in the service's JSON shape, with a tool call and a result.
    body = {
        "conversation": {
            "id": "a" * 24,
            "title": "Weather In Oslo",
            "timestamp": "2026-11-25T05:00:00Z",
            "messages": [
                {
                    "id": "1",
                    "role": "USER",
                    "content": "Weather in Oslo?",
                    "timestamp": "2026-11-25T05:00:00Z",
                },
                {
                    "id": "2",
                    "role": "ASSISTANT",
                    "content": "",
                    "timestamp": "2026-11-25T05:00:01Z",
                    "tool_calls": [
                        {"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}
                    ],
                },
                {
                    "id": "3",
                    "role": "TOOL",
                    "content": '{"temp_c": -3}',
                    "timestamp": "2026-11-25T05:00:01Z",
                },
                {
                    "id": "4",
                    "role": "ASSISTANT",
                    "content": "It is -3 °C.",
                    "timestamp": "2026-11-25T05:00:02Z",
                },
            ],
        },
        "next_page_token": "",
    }
    page.route(
        "**/DescribeConversation",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(body)
        ),
    )
    page.goto(f"/#{'a' * 24}")
    _wait_count(page, ".message", 4)
    assert page.inner_text(".tool-call summary") == "🔧 get_weather"
    assert page.locator(".tool-call pre").text_content() == '{"city": "Oslo"}'
    assert page.locator(".message.tool .tool-result").count() == 1


def test_the_pages_work_within_their_content_security_policy(page, server_url):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for path in ("/", "/docs"):
        response = page.goto(path)
        assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary-path")
    page.goto("/")
    _send(page, "under the policy")
    _wait_assistant_count(page, 1)
    assert violations == []


def test_the_api_docs_render_every_method_without_a_cdn(page, server_url, artifacts):
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    page.goto("/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    methods = sorted(p.rsplit("/", 1)[-1] for p in paths if p.startswith("/twirp/"))
    assert methods == sorted(m.name for m in pb.DESCRIPTOR.services_by_name["ChatService"].methods)
    streams = sorted(p for p in paths if p.startswith("/stream/"))
    assert streams == [
        "/stream/acai.chat.ChatService/ContinueConversation",
        "/stream/acai.chat.ChatService/EditLastMessage",
        "/stream/acai.chat.ChatService/RegenerateReply",
        "/stream/acai.chat.ChatService/StartConversation",
        "/stream/turns/{turn_id}",
    ]
    assert "DeleteConversation" in methods
    page.screenshot(path=str(artifacts / "api-docs.png"))
    assert all(url.startswith(server_url) for url in requests_seen), requests_seen


def test_a_screenshot_with_a_real_looking_conversation(page, fake_openai, artifacts):
    def answer(request):
        if request["messages"][0]["content"].startswith(prompts.TITLE_INSTRUCTION):
            return "Weekend In Lisbon"
        return (
            "Saturday: Alfama in the morning, lunch in Baixa, sunset at Miradouro da Graça.\n"
            "Sunday: Belém (the tower and pastéis de nata), then LX Factory."
        )

    fake_openai.responder = answer
    page.goto("/")
    _send(page, "Plan a weekend in Lisbon")
    _wait_assistant_count(page, 1)
    assert page.inner_text("#title") == "Weekend In Lisbon"
    page.screenshot(path=str(artifacts / "web-chat.png"))


def _expect():
    from playwright.sync_api import expect  # the module is skipped without playwright

    return expect


def test_a_reply_streams_in_with_a_stop_button_that_stops_it(page, fake_openai, client, artifacts):
    fake_openai.pacing = Pacing(first_token_delay_s=0.0, token_gap_s=0.25)
    words = "one two three four five six seven eight nine ten eleven twelve"
    page.goto("/")
    _send(page, f"Count slowly: {words}")
    live = page.locator(".message.assistant.streaming .text")
    _expect()(live).to_contain_text("echo: Count slowly: one", timeout=TIMEOUT_MS)
    _expect()(page.locator("#stop")).to_be_visible()
    assert page.locator("#send").is_disabled()
    assert page.evaluate("JSON.parse(sessionStorage.getItem('chat.runningTurn')).turnId")
    page.screenshot(path=str(artifacts / "web-chat-streaming.png"))
    page.click("#stop")
    _wait_assistant_count(page, 1)
    _expect()(page.locator(".message.assistant .stopped")).to_have_text("Stopped")
    shown = page.locator(".message.assistant .text").inner_text()
    assert shown.startswith("echo: Count slowly: one")
    assert not shown.endswith("twelve")
    assert page.locator("#stop").is_hidden()
    assert page.evaluate("sessionStorage.getItem('chat.runningTurn')") is None
    conversation_id = page.evaluate("location.hash.slice(1)")
    request = pb.DescribeConversationRequest(conversation_id=conversation_id)
    stored = _describe_until(client, request, count=2)
    assert stored[-1].finish_reason == "cancelled"
    assert stored[-1].content == shown


def _describe_until(client, request, *, count: int) -> list:
    # The stopped reply is stored as the turn ends, a moment after CancelTurn answered.
    deadline = time.monotonic() + 10
    while True:
        messages = list(
            client.DescribeConversation(ctx=Context(), request=request).conversation.messages
        )
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def test_markdown_is_rendered_and_html_from_the_model_is_not(page, fake_openai):
    reply = (
        "## Plan\n\n"
        "Use `pip install x` then **go**:\n\n"
        "- Alfama <img src=x onerror=alert(1)>\n"
        "- [the tower](https://example.org/belem?a=1&b=2)\n"
        "- [evil](javascript:alert(1))\n\n"
        "1. first\n2. second\n\n"
        "```python\nprint('<script>alert(1)</script>')\n```"
    )
    fake_openai.responder = lambda r: "Title" if _is_title(r) else reply
    page.goto("/")
    _send(page, "markdown please")
    _wait_assistant_count(page, 1)
    text = page.locator(".message.assistant .markdown")
    assert text.locator("h4").inner_text() == "Plan"
    assert text.locator("p code").inner_text() == "pip install x"
    assert text.locator("strong").inner_text() == "go"
    assert text.locator("ul li").count() == 3
    assert text.locator("ol li").all_inner_texts() == ["first", "second"]
    assert text.locator("pre code").inner_text() == "print('<script>alert(1)</script>')"
    link = text.locator("a")
    assert link.count() == 1
    assert link.get_attribute("href") == "https://example.org/belem?a=1&b=2"
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert text.locator("img, script").count() == 0
    assert "<img src=x onerror=alert(1)>" in text.locator("ul li").first.inner_text()
    assert "[evil](javascript:alert(1))" in text.inner_text()


def _is_title(request: dict) -> bool:
    return request["messages"][0]["content"].startswith(prompts.TITLE_INSTRUCTION)


def test_tool_calls_show_as_they_happen(page, fake_openai):
    def answer(request):
        if _is_title(request):
            return "Title"
        if any(m["role"] == "tool" for m in request["messages"]):
            return "Tomorrow."
        return fake_openai.tool_call("get_date_time", {"offset_days": 1}, call_id="t1")

    fake_openai.responder = answer
    page.goto("/")
    _send(page, "what day is tomorrow?")
    _wait_assistant_count(page, 1)
    call = page.locator(".message.assistant .live-tools .tool-call")
    assert call.locator("summary").inner_text().startswith("🔧 get_date_time")
    assert call.get_attribute("class").split() == ["tool-call", "ok"]
    assert page.locator(".message.assistant .markdown").last.inner_text() == "Tomorrow."


def test_a_reload_reattaches_to_the_running_turn(page, fake_openai):
    fake_openai.pacing = Pacing(first_token_delay_s=0.0, token_gap_s=0.2)
    words = " ".join(f"w{n}" for n in range(15))
    page.goto("/")
    _send(page, "first")
    _wait_assistant_count(page, 1)
    _send(page, words)
    live = page.locator(".message.assistant.streaming .text")
    _expect()(live).to_contain_text("echo: w0 w1", timeout=TIMEOUT_MS)
    resumes: list[str] = []
    page.on("request", lambda r: resumes.append(r.url) if "/stream/turns/" in r.url else None)
    page.reload()
    _wait_assistant_count(page, 2)
    _expect()(page.locator(".message.assistant .text").last).to_have_text(f"echo: {words}")
    assert len(resumes) == 1
    assert "after=" in resumes[0]
    assert int(resumes[0].rsplit("after=", 1)[1]) > 1
    assert page.locator(".message.user .text").all_inner_texts() == ["first", words]
    assert page.evaluate("sessionStorage.getItem('chat.runningTurn')") is None
