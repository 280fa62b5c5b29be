"""Offline titles: the first words of the message, its markup dropped, acronyms and code kept."""

from __future__ import annotations

import pytest

from chat_service.adapters.llm.offline_titles import offline_title, title_case


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("Plan a weekend in Lisbon", "Plan a Weekend in Lisbon"),
        ("**Urgent**: fix the `make run` target", "Urgent: Fix the make run Target"),
        ("# Heading about pods", "Heading About Pods"),
        ("> quoted text here please", "Quoted Text Here Please"),
        ("- item one - item two", "Item One - Item Two"),
        ("1. first step then second", "First Step Then Second"),
        ("[the docs](https://example.com/docs) say otherwise", "The Docs Say Otherwise"),
        ("<b>bold</b> html here", "Bold HTML Here"),
        ("tell me about **the** roman _empire_", "Tell Me About the Roman Empire"),
        ("```python\nprint('hi')\n```\nwhy does this fail?", "Why Does This Fail"),
        ("```\nprint('hi')\n```", "print('hi')"),
    ],
)
def test_markup_is_dropped_not_title_cased(message, title):
    assert offline_title(message) == title


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("what is the api rate-limit?", "What Is the API Rate-Limit"),
        ("who is the ceo of ibm", "Who Is the CEO of IBM"),
        ("what does json-rpc mean", "What Does JSON-RPC Mean"),
        ("explain tcp/ip to me", "Explain TCP/IP to Me"),
        ("my iPhone and NASA's plan", "My iPhone and NASA's Plan"),
        ("list the apis we use", "List the APIs We Use"),
    ],
)
def test_acronyms_are_upper_case_and_capitals_are_kept(message, title):
    assert offline_title(message) == title


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("visit https://example.com/foo now", "Visit https://example.com/foo Now"),
        ("what is in ~/.bashrc", "What Is in ~/.bashrc"),
        ("use snake_case names", "Use snake_case Names"),
        ("why is my docker-compose.yml failing?", "Why Is My docker-compose.yml Failing"),
        ("deploy to k8s today", "Deploy to k8s Today"),
        ("fix `ls -la` output", "Fix ls -la Output"),
    ],
)
def test_urls_paths_identifiers_and_code_keep_their_case(message, title):
    assert offline_title(message) == title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weather in paris", "Weather in Paris"),
        ("what NASA did in the 1960s", "What NASA Did in the 1960s"),
        ("my iPhone won't charge", "My iPhone Won't Charge"),
        ("the end of it", "The End of It"),
        ("élan vital", "Élan Vital"),
        ("(quoted) words", "(Quoted) Words"),
        ("東京 weather", "東京 Weather"),
    ],
)
def test_title_case_keeps_acronyms(text, expected):
    assert title_case(text) == expected
