"""Settings.from_env: defaults, aliases, errors that name the variable, secrets that never print."""

from __future__ import annotations

import pytest

from chat_service.config import Secret, Settings, SettingsError


def test_defaults_when_the_environment_is_empty():
    assert Settings.from_env({}) == Settings()
    settings = Settings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.mongo_uri == "mongodb://127.0.0.1:27017"
    assert not settings.openai_api_key


def test_blank_values_count_as_unset():
    assert Settings.from_env({"PORT": "  ", "MONGO_URI": ""}) == Settings()


def test_values_are_parsed_to_the_field_types():
    settings = Settings.from_env({"PORT": " 9000 ", "LLM_TIMEOUT_S": "2.5", "HOST": "0.0.0.0"})
    assert settings.port == 9000
    assert settings.llm_timeout_s == 2.5
    assert settings.host == "0.0.0.0"


def test_redis_addr_is_accepted_and_turned_into_a_url():
    settings = Settings.from_env({"REDIS_ADDR": "cache.internal:6380"})
    assert settings.redis_url == "redis://cache.internal:6380/0"


def test_redis_url_wins_over_redis_addr():
    env = {"REDIS_URL": "redis://primary:6379/2", "REDIS_ADDR": "other:6379"}
    assert Settings.from_env(env).redis_url == "redis://primary:6379/2"


def test_mongodb_uri_is_accepted():
    settings = Settings.from_env({"MONGODB_URI": "mongodb://db.internal:27017"})
    assert settings.mongo_uri == "mongodb://db.internal:27017"


def test_mongo_uri_wins_over_mongodb_uri():
    env = {"MONGO_URI": "mongodb://winner:27017", "MONGODB_URI": "mongodb://loser:27017"}
    assert Settings.from_env(env).mongo_uri == "mongodb://winner:27017"


@pytest.mark.parametrize(
    ("name", "value"), [("PORT", "eighty"), ("RPC_THREADS", "1.5"), ("LLM_TIMEOUT_S", "soon")]
)
def test_an_invalid_number_names_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_an_out_of_range_value_names_the_variable():
    with pytest.raises(SettingsError, match="PORT"):
        Settings.from_env({"PORT": "0"})


def test_secrets_never_show_in_repr_or_str():
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-very-secret"})
    assert settings.openai_api_key.reveal() == "sk-very-secret"
    assert settings.openai_api_key
    for text in (repr(settings), str(settings), repr(settings.openai_api_key)):
        assert "sk-very-secret" not in text
    assert str(settings.openai_api_key) == "**********"
    assert f"{settings.openai_api_key}" == "**********"
    assert str(Secret("")) == ""


def test_shared_state_settings_are_read_and_checked():
    settings = Settings.from_env(
        {
            "CACHE_TTL_HOURS": "0",
            "SESSION_TTL_MINUTES": "5",
            "SESSION_SCOPE": "user",
            "API_RATE_LIMIT_RPS": "2.5",
            "API_RATE_LIMIT_BURST": "5",
            "TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32",
            "TURN_LOCK_WAIT_S": "1.5",
            "IDEMPOTENCY_TTL_HOURS": "48",
        }
    )
    assert (settings.cache_ttl_hours, settings.session_ttl_minutes) == (0, 5)
    assert (settings.api_rate_limit_rps, settings.api_rate_limit_burst) == (2.5, 5)
    assert settings.session_scope == "user"


@pytest.mark.parametrize(
    "env",
    [
        {"SESSION_SCOPE": "group"},
        {"TRUSTED_PROXIES": "10.0.0.0/33"},
        {"API_RATE_LIMIT_BURST": "0"},
        {"SESSION_TTL_MINUTES": "0"},
        {"CACHE_TTL_HOURS": "-1"},
    ],
)
def test_shared_state_settings_out_of_range_name_the_variable(env):
    with pytest.raises(SettingsError, match=next(iter(env))):
        Settings.from_env(env)


def test_the_failed_authentication_limit_is_read_and_checked():
    settings = Settings.from_env({"AUTH_FAILURE_LIMIT": "5", "AUTH_FAILURE_WINDOW_S": "30"})
    assert (settings.auth_failure_limit, settings.auth_failure_window_s) == (5, 30.0)
    assert Settings.from_env({"AUTH_FAILURE_LIMIT": "0"}).auth_failure_limit == 0  # off
    for env in ({"AUTH_FAILURE_LIMIT": "-1"}, {"AUTH_FAILURE_WINDOW_S": "0"}):
        with pytest.raises(SettingsError, match=next(iter(env))):
            Settings.from_env(env)


def test_the_history_cache_size_is_read_and_checked():
    assert Settings.from_env({}).history_cache_chars == 4_000_000
    assert Settings.from_env({"HISTORY_CACHE_CHARS": "0"}).history_cache_chars == 0  # off
    with pytest.raises(SettingsError, match="HISTORY_CACHE_CHARS"):
        Settings.from_env({"HISTORY_CACHE_CHARS": "-1"})
