"""The model allow-list (MODELS), each model's fallback chain, and what a chosen model and
standing instructions change in a reply's prompt and cache key."""

from __future__ import annotations

import pytest

from chat_service.composition.providers import fallback_chain
from chat_service.config import Secret, Settings, SettingsError
from chat_service.core.errors import InvalidRequest
from chat_service.core.instructions import StandingInstructions
from chat_service.core.model_catalog import ModelCatalog, ModelOption, display_name
from tests.fakes.assistant_kit import make_assistant
from tests.fakes.scripted_model import ScriptedChatModel

OPENAI_KEY, ANTHROPIC_KEY = Secret("sk-test"), Secret("sk-ant-test")


def test_models_default_to_each_configured_provider_with_its_model() -> None:
    settings = Settings(
        openai_api_key=OPENAI_KEY,
        anthropic_api_key=ANTHROPIC_KEY,
        openai_model="gpt-4o",
        anthropic_model="claude-haiku-4-5",
    )

    assert settings.model_list() == (("openai:gpt-4o", ""), ("anthropic:claude-haiku-4-5", ""))
    only_anthropic = Settings(
        llm_providers="anthropic", openai_api_key=OPENAI_KEY, anthropic_api_key=ANTHROPIC_KEY
    )
    assert only_anthropic.model_list() == (("anthropic:claude-haiku-4-5", ""),)
    assert Settings().model_list() == ()  # no provider: the offline model answers


def test_models_are_read_in_order_with_optional_display_names() -> None:
    settings = Settings.from_env(
        {
            "MODELS": " anthropic:claude-haiku-4-5, openai:gpt-4o-mini=Fast one ,",
            "OPENAI_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        }
    )

    assert settings.model_list() == (
        ("anthropic:claude-haiku-4-5", ""),
        ("openai:gpt-4o-mini", "Fast one"),
    )


@pytest.mark.parametrize(
    ("models", "error"),
    [
        ("gemini:pro", "is not openai:<model> or anthropic:<model>"),
        ("openai:", "is not openai:<model> or anthropic:<model>"),
        ("openai:a,openai:a", "lists openai:a twice"),
        ("anthropic:claude-x", "ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL are both unset"),
    ],
)
def test_a_bad_models_setting_names_the_problem(models: str, error: str) -> None:
    with pytest.raises(SettingsError, match=error):
        Settings.from_env({"MODELS": models, "OPENAI_API_KEY": "sk-test"})


def test_a_model_falls_back_to_the_other_providers_first_models() -> None:
    ids = ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "openai:gpt-4o"]

    assert fallback_chain(ids, "openai:gpt-4o", ["openai", "anthropic"]) == [
        "openai:gpt-4o",
        "anthropic:claude-haiku-4-5",
    ]
    assert fallback_chain(ids, "anthropic:claude-haiku-4-5", ["openai", "anthropic"]) == [
        "anthropic:claude-haiku-4-5",
        "openai:gpt-4o-mini",
    ]


def test_the_catalog_checks_choices_and_resolves_stored_ones() -> None:
    gpt, claude = ScriptedChatModel(name="openai:gpt"), ScriptedChatModel(name="anthropic:c")
    catalog = ModelCatalog(
        [(ModelOption("openai:gpt", "GPT"), gpt), (ModelOption("anthropic:c", "C"), claude)]
    )

    assert catalog.checked(" anthropic:c ") == "anthropic:c"
    assert catalog.checked("") == ""
    with pytest.raises(InvalidRequest, match="allowed: openai:gpt, anthropic:c") as raised:
        catalog.checked("openai:nope")
    assert raised.value.argument == "model"
    assert catalog.chat_model("anthropic:c") is claude
    assert catalog.chat_model("") is gpt
    assert catalog.chat_model("openai:removed-since") is gpt
    assert display_name("anthropic:claude-haiku-4-5") == "Claude Haiku 4.5"
    assert display_name("openai:my-model") == "my-model"


def test_the_chosen_model_answers_and_keys_the_cache() -> None:
    gpt, claude = ScriptedChatModel(name="openai:gpt"), ScriptedChatModel(name="anthropic:c")
    catalog = ModelCatalog(
        [(ModelOption("openai:gpt", "GPT"), gpt), (ModelOption("anthropic:c", "C"), claude)]
    )
    assistant = make_assistant(gpt, models=catalog)

    default = assistant.prepare([], "hi")
    chosen = assistant.prepare([], "hi", model="anthropic:c")
    instructed = assistant.prepare([], "hi", model="anthropic:c", instructions="Be brief.")
    assistant.answer(chosen)

    assert (default.basis.provider, chosen.basis.provider) == ("openai", "anthropic")
    assert len(claude.calls) == 1
    assert gpt.calls == []
    assert instructed.basis != chosen.basis
    assert instructed.system.content.startswith(chosen.system.content)
    assert instructed.system.content.endswith("<instructions>\nBe brief.\n</instructions>")


def test_instructions_have_a_size_limit_and_no_control_characters() -> None:
    rules = StandingInstructions(max_chars=10)

    assert rules.checked("  two\nlines ") == "two\nlines"
    with pytest.raises(InvalidRequest, match="longer than 10 characters"):
        rules.checked("x" * 11)
    with pytest.raises(InvalidRequest, match="control characters"):
        rules.checked("bell\x07")
    assert rules.for_turn("alice", "") == ""  # no store: no owner default
