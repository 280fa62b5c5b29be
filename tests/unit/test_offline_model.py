"""The offline model: deterministic, explains how to configure a model, makes titles."""

from __future__ import annotations

from chat_service.adapters.llm.offline import OfflineChatModel
from chat_service.core.prompts import DEFAULT_SYSTEM_PROMPT, DEFAULT_TITLE, title_prompt
from chat_service.ports.chat_model import (
    ChatMessage,
    ChatModel,
    Completion,
    PromptRole,
    ToolSpec,
    Usage,
)

CHAT = [
    ChatMessage(PromptRole.SYSTEM, DEFAULT_SYSTEM_PROMPT),
    ChatMessage(PromptRole.USER, "What's the weather in Paris?"),
    ChatMessage(PromptRole.ASSISTANT, "I cannot tell."),
    ChatMessage(PromptRole.USER, "Then tell me a joke about the   NASA budget."),
]


def test_is_a_chat_model():
    model: ChatModel = OfflineChatModel()

    assert model.name == "offline"


def test_reply_is_deterministic():
    tools = [ToolSpec("clock", "The time.")]

    first = OfflineChatModel().complete(CHAT, tools=tools)

    assert first == OfflineChatModel().complete(CHAT, tools=tools, max_tokens=5)
    assert first.tool_calls == ()
    assert first.usage == Usage(0, 0)
    assert first.model == "offline"


def test_reply_explains_how_to_configure_a_model():
    content = OfflineChatModel().complete(CHAT).content

    assert "No language model is configured" in content
    assert "OPENAI_API_KEY" in content
    assert "OPENAI_BASE_URL" in content


def test_reply_quotes_the_last_user_message():
    content = OfflineChatModel().complete(CHAT).content

    assert "“Then tell me a joke about the NASA budget.”" in content
    assert "Paris" not in content


def test_long_messages_are_quoted_shortly():
    long = "word " * 100

    content = OfflineChatModel().complete([ChatMessage(PromptRole.USER, long)]).content

    assert "word word…”" in content
    assert content.count("word") < 20


def test_no_user_message_still_explains():
    completion = OfflineChatModel().complete([])

    assert "OPENAI_API_KEY" in completion.content
    assert "You said" not in completion.content


def test_title_request_gets_the_first_words_in_title_case():
    prompt = title_prompt("how does the NASA artemis program plan to return to the moon?")

    completion = OfflineChatModel().complete(prompt, max_tokens=30)

    assert completion == Completion(
        "How Does the NASA Artemis Program", (), Usage(), "offline", "offline"
    )


def test_title_of_a_short_or_empty_message():
    model = OfflineChatModel()

    assert model.complete(title_prompt("hello!")).content == "Hello"
    assert model.complete(title_prompt("   ")).content == DEFAULT_TITLE
    assert model.complete(title_prompt('"""')).content == DEFAULT_TITLE


def test_streams_its_answer_word_by_word():
    deltas: list[str] = []

    completion = OfflineChatModel().complete(CHAT, on_text=deltas.append)

    assert completion == OfflineChatModel().complete(CHAT)
    assert len(deltas) > 10
    assert "".join(deltas) == completion.content
    assert all(d.strip() for d in deltas)
