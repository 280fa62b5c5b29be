"""The Telegram bot against a fake Telegram Bot API server and the real app (no network)."""

from __future__ import annotations

import itertools
import threading

import pytest

from chat_client import AsyncChatClient, RetryPolicy
from chat_service.core import prompts
from telegram_bot.app import build_application
from telegram_bot.replies import TELEGRAM_LIMIT
from telegram_bot.settings import BotSettings
from tests.fakes.bot_thread import polling
from tests.fakes.openai_wire import echo_responder, message_text
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.uvicorn_thread import free_port

_chat_ids = itertools.count(7001)
FAST = RetryPolicy(retries=1, backoff_base_s=0.001, backoff_max_s=0.01)


@pytest.fixture(scope="module")
def telegram():
    with FakeTelegramServer() as server:
        yield server


def _settings(telegram, chat_url: str) -> BotSettings:
    return BotSettings(
        telegram_token=telegram.token,
        chat_url=chat_url,
        telegram_api_url=f"{telegram.url}/bot",
    )


@pytest.fixture(scope="module")
def bot(telegram, server_url):
    settings = _settings(telegram, server_url)
    client = AsyncChatClient(server_url, retry=FAST, timeout_s=30)
    # Replies here come at once: a long edit interval keeps each one a single message on a
    # slow machine too (edits are tested in test_telegram_bot_streaming.py).
    bot = build_application(settings, client=client, typing_interval_s=0.05, edit_interval_s=5.0)
    with polling(bot):
        yield


@pytest.fixture
def chat_id(bot) -> int:
    return next(_chat_ids)


def _is_title_request(request: dict) -> bool:
    return request["messages"][0]["content"].startswith(prompts.TITLE_INSTRUCTION)


def _reply_requests(fake_openai) -> list[dict]:
    return [r.json for r in fake_openai.requests if not _is_title_request(r.json)]


def _user_texts(request: dict) -> list[str]:
    return [message_text(m) for m in request["messages"] if m["role"] == "user"]


def test_start_and_help_explain_the_commands(telegram, chat_id):
    telegram.deliver(telegram.text_update(chat_id, "/start"))
    [welcome] = telegram.wait_for_texts(chat_id, 1)
    assert welcome.startswith("Hello!")
    assert "/new" in welcome
    assert "/status" in welcome
    telegram.deliver(telegram.text_update(chat_id, "/help"))
    assert "/new — start a new conversation" in telegram.wait_for_texts(chat_id, 2)[1]
    commands = telegram.calls("setMyCommands")
    assert commands, "the command menu is registered at start-up"


def test_messages_continue_the_chat_conversation(telegram, fake_openai, chat_id):
    telegram.deliver(telegram.text_update(chat_id, "Plan a weekend in Lisbon"))
    assert telegram.wait_for_texts(chat_id, 1) == ["echo: Plan a weekend in Lisbon"]
    telegram.deliver(telegram.text_update(chat_id, "And Sunday?"))
    assert telegram.wait_for_texts(chat_id, 2)[1] == "echo: And Sunday?"
    last = _reply_requests(fake_openai)[-1]
    assert _user_texts(last) == ["Plan a weekend in Lisbon", "And Sunday?"]
    actions = [c for c in telegram.calls("sendChatAction") if int(c.params["chat_id"]) == chat_id]
    assert actions
    assert actions[0].params["action"] == "typing"


def test_new_starts_a_fresh_conversation(telegram, fake_openai, chat_id):
    telegram.deliver(telegram.text_update(chat_id, "first topic"))
    telegram.wait_for_texts(chat_id, 1)
    telegram.deliver(telegram.text_update(chat_id, "/new"))
    assert telegram.wait_for_texts(chat_id, 2)[1].startswith("Started afresh.")
    telegram.deliver(telegram.text_update(chat_id, "second topic"))
    assert telegram.wait_for_texts(chat_id, 3)[2] == "echo: second topic"
    assert _user_texts(_reply_requests(fake_openai)[-1]) == ["second topic"]


def test_a_redelivered_update_is_answered_once(telegram, fake_openai, chat_id):
    update = telegram.text_update(chat_id, "only once please")
    telegram.deliver(update, update)
    assert telegram.wait_for_texts(chat_id, 1) == ["echo: only once please"]
    telegram.deliver(update)  # redelivered after it was answered
    # A later update as a marker: updates are handled in their own tasks, started in order,
    # and a duplicate is dropped before its task awaits anything.
    telegram.deliver(telegram.text_update(chat_id, "/help"))
    texts = telegram.wait_for_texts(chat_id, 2)
    assert texts[1].startswith("Send me a message")
    assert len(_reply_requests(fake_openai)) == 1
    assert telegram.sent_texts(chat_id) == texts


def test_long_replies_are_split_on_paragraphs(telegram, fake_openai, chat_id):
    paragraphs = [f"Paragraph {n}: " + "word " * 300 for n in range(6)]  # ~1.5k chars each
    long_reply = "\n\n".join(p.strip() for p in paragraphs)
    fake_openai.responder = lambda r: "Title" if _is_title_request(r) else long_reply
    telegram.deliver(telegram.text_update(chat_id, "tell me a lot"))
    first = telegram.wait_for_texts(chat_id, 1)[0]
    pieces = telegram.wait_for_texts(chat_id, 3)
    assert all(len(p) <= TELEGRAM_LIMIT for p in pieces)
    assert "\n\n".join(pieces) == long_reply
    assert first.startswith("Paragraph 0:")
    assert all(p.startswith("Paragraph ") for p in pieces)


def test_status_reports_the_service_health(telegram, chat_id):
    telegram.deliver(telegram.text_update(chat_id, "/status"))
    assert telegram.wait_for_texts(chat_id, 1) == [
        "Service: healthy\nmongodb: ok\nredis: ok\nllm:openai:gpt-test: ok"
    ]


def test_a_rejected_message_is_explained_with_the_service_words(telegram, chat_id):
    telegram.deliver(telegram.text_update(chat_id, "x" * 2500))  # the e2e server allows 2000
    [reply] = telegram.wait_for_texts(chat_id, 1)
    assert reply == "I can't send that message: message is longer than 2000 characters."


def test_one_slow_chat_does_not_hold_up_another(telegram, fake_openai, bot):
    slow_chat, fast_chat = next(_chat_ids), next(_chat_ids)
    release = threading.Event()

    def responder(request):
        if not _is_title_request(request) and _user_texts(request)[-1] == "slow question":
            release.wait(20)
        return echo_responder(request)

    fake_openai.responder = responder
    try:
        telegram.deliver(telegram.text_update(slow_chat, "slow question"))
        telegram.deliver(telegram.text_update(fast_chat, "fast question"))
        assert telegram.wait_for_texts(fast_chat, 1) == ["echo: fast question"]
        assert telegram.sent_texts(slow_chat) == []
    finally:
        release.set()
    assert telegram.wait_for_texts(slow_chat, 1) == ["echo: slow question"]


def test_an_unreachable_service_is_reported_plainly(telegram):
    other = FakeTelegramServer(token="999:OTHER")
    with other:
        settings = _settings(other, f"http://127.0.0.1:{free_port()}")
        client = AsyncChatClient(settings.chat_url, retry=FAST)
        with polling(build_application(settings, client=client, typing_interval_s=0.05)):
            other.deliver(other.text_update(1, "hello?"), other.text_update(2, "/status"))
            assert other.wait_for_texts(1, 1) == [
                "The assistant is unavailable right now; please try again in a moment."
            ]
            assert other.wait_for_texts(2, 1) == ["Service: unreachable"]


def test_model_lists_and_chooses_and_regenerate_answers_again(telegram, fake_openai, chat_id):
    telegram.deliver(telegram.text_update(chat_id, "/regenerate"))
    assert telegram.wait_for_texts(chat_id, 1)[0].startswith("There is no answer to regenerate")
    telegram.deliver(telegram.text_update(chat_id, "/model"))
    assert telegram.wait_for_texts(chat_id, 2)[1] == (
        "Models (choose with /model <id>):\n→ openai:gpt-test — gpt-test"
    )
    telegram.deliver(telegram.text_update(chat_id, "/model openai:gpt-9"))
    assert telegram.wait_for_texts(chat_id, 3)[2].startswith("I don't know that model.")
    telegram.deliver(telegram.text_update(chat_id, "/model openai:gpt-test"))
    assert (
        telegram.wait_for_texts(chat_id, 4)[3]
        == "From now on openai:gpt-test answers in this chat."
    )

    telegram.deliver(telegram.text_update(chat_id, "Roll a die"))
    assert telegram.wait_for_texts(chat_id, 5)[4] == "echo: Roll a die"
    fake_openai.script("It is 4.")
    telegram.deliver(telegram.text_update(chat_id, "/regenerate"))
    assert telegram.wait_for_texts(chat_id, 6)[5] == "It is 4."
    telegram.deliver(telegram.text_update(chat_id, "Again?"))
    telegram.wait_for_texts(chat_id, 7)
    assert [m["content"] for m in _reply_requests(fake_openai)[-1]["messages"][1:]] == [
        "Roll a die",
        "It is 4.",
        "Again?",
    ]
