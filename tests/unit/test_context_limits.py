"""MAX_MESSAGE_CHARS counts characters, MAX_CONTEXT_TOKENS tokens: a message within the first can
exceed the second, and the error then names the setting to change."""

from __future__ import annotations

import pytest

from chat_service.config import Settings
from chat_service.core.context_window import ContextOverflow
from tests.fakes.assistant_kit import make_assistant
from tests.fakes.scripted_model import ScriptedChatModel

DEFAULTS = Settings()


@pytest.mark.parametrize(
    "message",
    [
        "é" * DEFAULTS.max_message_chars,
        "😀" * (DEFAULTS.max_message_chars // 2),
    ],
    ids=["accented", "emoji"],
)
def test_a_message_within_max_message_chars_that_needs_too_many_tokens_names_the_settings(
    message,
):
    assert len(message) <= DEFAULTS.max_message_chars
    model = ScriptedChatModel()
    assistant = make_assistant(
        model,
        max_context_tokens=DEFAULTS.max_context_tokens,
        reply_max_tokens=DEFAULTS.reply_max_tokens,
    )

    with pytest.raises(ContextOverflow) as raised:
        assistant.reply([], message)

    assert model.calls == []  # refused before anything is sent
    text = str(raised.value)
    assert f"MAX_CONTEXT_TOKENS ({DEFAULTS.max_context_tokens})" in text
    assert f"REPLY_MAX_TOKENS ({DEFAULTS.reply_max_tokens})" in text
    assert "raise MAX_CONTEXT_TOKENS" in text
    assert "MAX_MESSAGE_CHARS counts characters" in text
