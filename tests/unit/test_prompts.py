"""Prompts: the title prompt's round trip and the cleaning of generated titles."""

from __future__ import annotations

import pytest

from chat_service.core.prompts import (
    DEFAULT_SYSTEM_PROMPT,
    DEFAULT_TITLE,
    TITLE_INSTRUCTION,
    TITLE_MAX_CHARS,
    TITLE_SOURCE_MAX_CHARS,
    clean_title,
    clip,
    title_prompt,
    title_source,
)
from chat_service.ports.chat_model import ChatMessage, PromptRole


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"Weather in Paris"', "Weather in Paris"),
        ("“Weather in Paris.”", "Weather in Paris"),
        ("`Weather in Paris`", "Weather in Paris"),
        ("'Planning a Trip to Rome!'", "Planning a Trip to Rome"),
        ("- Weather in Paris -", "Weather in Paris"),
        ("**Title:** Weather in Paris", "Weather in Paris"),
        ("Title: NASA Moon Missions?", "NASA Moon Missions"),
        ("# Weather in Paris", "Weather in Paris"),
        ("  Weather\t in \n", "Weather in"),
        ("\n\nFirst Line\nSecond line", "First Line"),
        ("Les Vacances d'Été…", "Les Vacances d'Été"),
        ("东京的天气。", "东京的天气"),
        ("NASA and the ESA", "NASA and the ESA"),
    ],
)
def test_clean_title(raw, expected):
    assert clean_title(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", '""', "...", "\n\n", "- — -"])
def test_clean_title_falls_back_when_nothing_is_left(raw):
    assert clean_title(raw) == DEFAULT_TITLE


def test_clean_title_caps_on_a_word_boundary():
    raw = "Understanding the Differences Between Synchronous and Asynchronous Programming Models"

    title = clean_title(raw)

    assert len(title) <= TITLE_MAX_CHARS
    assert raw.startswith(title)
    assert raw[len(title)] == " "
    assert title == "Understanding the Differences Between Synchronous and"


def test_clean_title_counts_characters_not_bytes():
    raw = "Ééééééééé " * 20

    title = clean_title(raw)

    assert title == ("Ééééééééé " * 6).strip()
    assert len(title) == 59


def test_clean_title_keeps_at_most_seven_words_and_acronyms():
    assert clean_title("NASA and ESA Plan a Joint Mars Sample Return Mission") == (
        "NASA and ESA Plan a Joint Mars"
    )


def test_clean_title_never_splits_a_combining_sequence():
    decomposed = "e\u0301" * 70  # é as e + combining acute: NFC makes it one character
    assert clean_title(decomposed) == "é" * TITLE_MAX_CHARS
    marks = "a" + "\u0302\u0323" * 40  # no precomposed form: one long cluster
    assert clean_title("x" * 59 + marks) == "x" * 59


def test_clip_keeps_short_text_and_cuts_long_words():
    assert clip("short", 10) == "short"
    assert clip("a" * 20, 10) == "a" * 10
    assert clip("one two three", 9) == "one two"


def test_title_prompt_round_trips_through_title_source():
    prompt = title_prompt("  How do I bake bread?  ")

    assert prompt[0] == ChatMessage(PromptRole.SYSTEM, TITLE_INSTRUCTION)
    assert prompt[1].role is PromptRole.USER
    assert "How do I bake bread?" in prompt[1].content
    assert title_source(prompt) == "How do I bake bread?"


def test_title_prompt_clips_long_messages():
    source = title_source(title_prompt("word " * 2000))

    assert source is not None
    assert len(source) <= TITLE_SOURCE_MAX_CHARS


def test_other_prompts_are_not_title_requests():
    chat = [
        ChatMessage(PromptRole.SYSTEM, DEFAULT_SYSTEM_PROMPT),
        ChatMessage(PromptRole.USER, "hi"),
    ]

    assert title_source(chat) is None
    assert title_source([ChatMessage(PromptRole.USER, TITLE_INSTRUCTION)]) is None
    assert title_source([]) is None
