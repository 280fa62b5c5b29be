"""The bot's reply splitting, redelivery memory and settings, without sockets."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telegram_bot.deliveries import SeenUpdates
from telegram_bot.replies import TELEGRAM_LIMIT, split_message, utf16_length
from telegram_bot.settings import TELEGRAM_API_URL, BotSettings


def test_short_text_is_one_piece():
    assert split_message("hello") == ["hello"]
    assert split_message("") == []


def test_cuts_at_the_last_paragraph_break_within_the_limit():
    text = "a" * 30 + "\n\n" + "b" * 30 + "\n\n" + "c" * 30
    assert split_message(text, limit=70) == ["a" * 30 + "\n\n" + "b" * 30, "c" * 30]


def test_prefers_a_line_break_then_a_space_when_no_paragraph_fits():
    assert split_message("aaaa bbbb\ncccc dddd", limit=12) == ["aaaa bbbb", "cccc dddd"]
    assert split_message("aaaa bbbb cccc", limit=10) == ["aaaa bbbb", "cccc"]


def test_an_unbroken_word_is_cut_at_the_limit():
    assert split_message("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_the_limit_counts_utf16_units():
    text = "😀" * 3000  # 2 units each: 6000 units
    pieces = split_message(text)
    assert [utf16_length(p) for p in pieces] == [4096, 1904]
    assert "".join(pieces) == text


@given(st.text(alphabet=st.sampled_from("ab \n😀é"), max_size=400), st.integers(2, 60))
def test_pieces_fit_and_keep_every_non_separator_character(text, limit):
    pieces = split_message(text, limit=limit)
    assert all(utf16_length(p) <= limit for p in pieces)
    assert all(p.strip() for p in pieces)
    kept = "".join(pieces).replace(" ", "").replace("\n", "")
    assert kept == text.replace(" ", "").replace("\n", "")


def test_telegram_limit_is_4096():
    assert TELEGRAM_LIMIT == 4096


def test_seen_updates_reports_repeats_and_forgets_the_oldest():
    seen = SeenUpdates(capacity=2)
    assert seen.first_time(1)
    assert not seen.first_time(1)
    assert seen.first_time(2)
    assert seen.first_time(3)  # 1 is forgotten now
    assert seen.first_time(1)
    with pytest.raises(ValueError, match="positive"):
        SeenUpdates(capacity=0)


def test_settings_from_the_environment():
    settings = BotSettings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "CHAT_URL": "http://chat:8080",
            "CHAT_API_KEY": "k",
            "CHAT_TIMEOUT_S": "30",
            "BOT_STATE_FILE": "var/bot.pickle",
        }
    )
    assert settings.chat_url == "http://chat:8080"
    assert settings.chat_timeout_s == 30.0
    assert settings.state_file == Path("var/bot.pickle")
    assert settings.telegram_api_url == TELEGRAM_API_URL
    assert "123:abc" not in repr(settings)
    assert "'k'" not in repr(settings)


def test_settings_need_a_token_and_a_numeric_timeout():
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        BotSettings.from_env({})
    with pytest.raises(ValueError, match="CHAT_TIMEOUT_S"):
        BotSettings.from_env({"TELEGRAM_BOT_TOKEN": "t", "CHAT_TIMEOUT_S": "soon"})
