"""The Telegram bot streaming replies into edited messages, against a fake Telegram Bot API
server and the real app with a paced fake model."""

from __future__ import annotations

import itertools

import pytest

from chat_client import AsyncChatClient, RetryPolicy
from chat_service.core import prompts
from telegram_bot.app import build_application
from telegram_bot.replies import TELEGRAM_LIMIT, split_message
from telegram_bot.settings import BotSettings
from tests.fakes.bot_thread import polling
from tests.fakes.sse_stream import Pacing
from tests.fakes.telegram_server import FakeTelegramServer

_chat_ids = itertools.count(8001)
FAST = RetryPolicy(retries=1, backoff_base_s=0.001, backoff_max_s=0.01)


@pytest.fixture(scope="module")
def telegram():
    with FakeTelegramServer() as server:
        yield server


@pytest.fixture(scope="module")
def bot(telegram, server_url):
    settings = BotSettings(
        telegram_token=telegram.token,
        chat_url=server_url,
        telegram_api_url=f"{telegram.url}/bot",
    )
    client = AsyncChatClient(server_url, retry=FAST, timeout_s=30)
    with polling(build_application(settings, client=client, edit_interval_s=1.0)):
        yield


@pytest.fixture
def chat_id(bot) -> int:
    return next(_chat_ids)


def _is_title_request(request: dict) -> bool:
    return request["messages"][0]["content"].startswith(prompts.TITLE_INSTRUCTION)


def _chat_calls(telegram, chat_id: int) -> list:
    return [
        c
        for c in telegram.calls()
        if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == chat_id
    ]


def test_a_slow_reply_grows_in_one_message_edited_at_most_once_a_second(
    telegram, fake_openai, chat_id
):
    words = " ".join(f"w{n}" for n in range(24))
    fake_openai.pacing = Pacing(first_token_delay_s=0.0, token_gap_s=0.15)  # ~4 s of text
    telegram.deliver(telegram.text_update(chat_id, words))
    telegram.wait_for_message_texts(chat_id, [f"echo: {words}"], timeout_s=30)
    calls = _chat_calls(telegram, chat_id)
    assert calls[0].method == "sendMessage"
    assert calls[0].params["text"] != f"echo: {words}", "the first message shows the text so far"
    edits = [c for c in calls if c.method == "editMessageText"]
    assert len(edits) >= 2
    assert len({c.params["text"] for c in edits}) == len(edits), "only edits that change it"
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= 0.95, gaps


def test_a_long_streamed_reply_continues_in_new_messages(telegram, fake_openai, chat_id):
    paragraphs = [f"Paragraph {n}: " + "word " * 300 for n in range(4)]  # ~1.5k chars each
    long_reply = "\n\n".join(p.strip() for p in paragraphs)
    fake_openai.responder = lambda r: "Title" if _is_title_request(r) else long_reply
    fake_openai.pacing = Pacing(first_token_delay_s=0.0, token_gap_s=0.002)
    telegram.deliver(telegram.text_update(chat_id, "tell me a lot, slowly"))
    telegram.wait_for_message_texts(chat_id, split_message(long_reply), timeout_s=30)
    texts = telegram.message_texts(chat_id)
    assert len(texts) == 2
    assert all(len(t) <= TELEGRAM_LIMIT for t in texts)
