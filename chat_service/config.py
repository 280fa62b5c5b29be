"""Settings: one frozen object, read once from the environment and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from chat_service.adapters.redis.client import is_cluster_url, parse_cluster_url
from chat_service.core.prices import PriceTable
from chat_service.edge.client_identity import TrustedProxies


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret string that never shows in `repr`, `str` or logs."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """Returns the secret itself; call only where it is sent to its owner."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting of the service; `from_env` documents the variable behind each."""

    host: str = "127.0.0.1"
    port: int = 8080
    # redis:// or rediss:// for one server; redis+cluster://host:port,host:port for a cluster.
    redis_url: str = "redis://127.0.0.1:6379/0"
    mongo_uri: str = "mongodb://127.0.0.1:27017"
    mongo_database: str = "acai"
    mongo_timeout_ms: int = 5000
    redis_timeout_s: float = 2.0
    twirp_prefix: str = "/twirp"
    rpc_threads: int = 256
    max_body_bytes: int = 1_048_576
    max_message_chars: int = 16_000
    history_messages: int = 40
    history_cache_chars: int = 4_000_000
    openai_api_key: Secret = Secret("")
    openai_base_url: str = ""
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 60.0
    reply_max_tokens: int = 1024
    title_max_tokens: int = 30
    log_level: str = "INFO"
    # Security: API keys, CORS, response headers
    api_key: Secret = Secret("")
    api_key_owner: str = "default"
    require_api_key: bool = False
    api_key_cache_s: float = 30.0
    # Wrong keys one client address may send per window (0: no limit), across all workers.
    auth_failure_limit: int = 10
    auth_failure_window_s: float = 60.0
    cors_origins: str = ""
    hsts_max_age_s: int = 31_536_000
    # Observability: metrics and traces (the OTEL_* names are OpenTelemetry's own)
    metrics_user_cap: int = 100
    llm_prices: str = ""
    llm_prices_file: str = ""
    prometheus_multiproc_dir: str = ""
    otel_service_name: str = "chat-service"
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_traces_endpoint: str = ""
    otel_sdk_disabled: bool = False
    # Assistant core: providers, retries, breakers, tools, context window, prompts.
    llm_providers: str = "openai,anthropic"
    # The models a conversation may choose, "provider:model[=Display name]" comma-separated,
    # the default first; blank: each configured provider of LLM_PROVIDERS with its model.
    models: str = ""
    max_instructions_chars: int = 4000
    anthropic_api_key: Secret = Secret("")
    anthropic_base_url: str = ""
    anthropic_model: str = "claude-haiku-4-5"
    retry_max_attempts: int = 3
    retry_base_delay_ms: int = 500
    retry_max_delay_ms: int = 5000
    circuit_breaker_max_failures: int = 3
    circuit_breaker_cooldown_seconds: float = 30.0
    max_tool_rounds: int = 5
    tool_threads: int = 16
    tool_timeout_s: float = 20.0
    tool_result_max_chars: int = 8000
    max_context_tokens: int = 16000
    default_timezone: str = "UTC"
    weather_api_key: Secret = Secret("")
    weather_timeout_s: float = 5.0
    weatherapi_base_url: str = "https://api.weatherapi.com"
    open_meteo_geocoding_url: str = "https://geocoding-api.open-meteo.com"
    open_meteo_forecast_url: str = "https://api.open-meteo.com"
    calendar_ics_url: str = ""
    calendar_cache_ttl_s: float = 900.0
    prompt_cache_ttl_s: float = 60.0
    # Serving: uvicorn worker processes, how long a stop waits for in-flight requests, and the
    # most bytes and seconds a request's line and headers may take (chat_service.http_protocol).
    workers: int = 1
    shutdown_grace_s: int = 30
    # A file whose presence makes /ready answer 503 in every worker (the preStop hook,
    # `python -m chat_service.drain`, creates it; the launcher removes it at start). "": none.
    drain_file: str = ""
    max_header_bytes: int = 65_536
    header_timeout_s: float = 10.0
    # Shared state in Redis: response cache, sessions, rate limits, turn locks, idempotency.
    cache_ttl_hours: float = 24.0
    session_ttl_minutes: float = 30.0
    session_scope: str = "chat"
    api_rate_limit_rps: float = 20.0
    api_rate_limit_burst: int = 40
    trusted_proxies: str = ""
    turn_lock_wait_s: float = 30.0
    turn_lock_ttl_s: float = 15.0
    idempotency_ttl_hours: float = 24.0
    # Budgets: how long a worker reuses an owner's and a key's budgets read from MongoDB.
    budget_cache_s: float = 5.0
    # Streamed turns (docs/streaming.md): open streams per owner (0: no limit), the idle
    # heartbeat, events held per turn in the worker, and the turn's copy in Redis (events kept,
    # seconds kept after the turn ended).
    max_streams_per_owner: int = 8
    stream_heartbeat_s: float = 15.0
    stream_buffer_events: int = 256
    turn_events_max: int = 10_000
    turn_events_ttl_s: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Reads settings from `environ` (default: the process environment).

        Raises SettingsError naming the variable whose value is unusable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f.name, raw.strip(), f.default)
        if "redis_url" not in values and env.get("REDIS_ADDR", "").strip():
            values["redis_url"] = f"redis://{env['REDIS_ADDR'].strip()}/0"
        if "mongo_uri" not in values and env.get("MONGODB_URI", "").strip():
            values["mongo_uri"] = env["MONGODB_URI"].strip()
        settings = cls(**values)
        settings.validate()
        return settings

    def cors_origin_list(self) -> list[str]:
        """Returns CORS_ORIGINS split on commas, blanks dropped."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def validate(self) -> None:
        """Raises SettingsError if a value is out of its range."""
        positive = (
            "port",
            "rpc_threads",
            "max_body_bytes",
            "max_message_chars",
            "history_messages",
            "max_header_bytes",
            "header_timeout_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be positive")
        if self.history_cache_chars < 0:
            raise SettingsError("HISTORY_CACHE_CHARS must be 0 (no cache) or more")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        if self.api_key_cache_s < 0 or self.hsts_max_age_s < 0:
            raise SettingsError("API_KEY_CACHE_S and HSTS_MAX_AGE_S must not be negative")
        if self.auth_failure_limit < 0:
            raise SettingsError("AUTH_FAILURE_LIMIT must not be negative (0 turns the limit off)")
        if self.auth_failure_window_s <= 0:
            raise SettingsError("AUTH_FAILURE_WINDOW_S must be positive")
        if self.metrics_user_cap < 0:
            raise SettingsError("METRICS_USER_CAP must not be negative")
        self.price_table()
        if self.api_key and not self.api_key_owner.strip():
            raise SettingsError("API_KEY_OWNER must not be blank")
        if self.twirp_prefix and not self.twirp_prefix.startswith("/"):
            raise SettingsError("TWIRP_PREFIX must be empty or start with '/'")
        if self.workers <= 0:
            raise SettingsError("WORKERS must be positive")
        if self.shutdown_grace_s < 0:
            raise SettingsError("SHUTDOWN_GRACE_S must not be negative")
        self._validate_assistant()
        self._validate_shared_state()

    def _validate_assistant(self) -> None:
        positive = (
            "retry_max_attempts",
            "circuit_breaker_max_failures",
            "circuit_breaker_cooldown_seconds",
            "max_tool_rounds",
            "tool_threads",
            "tool_timeout_s",
            "tool_result_max_chars",
            "weather_timeout_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be positive")
        if self.history_cache_chars < 0:
            raise SettingsError("HISTORY_CACHE_CHARS must be 0 (no cache) or more")
        if not 0 <= self.retry_base_delay_ms <= self.retry_max_delay_ms:
            raise SettingsError("RETRY_BASE_DELAY_MS must be between 0 and RETRY_MAX_DELAY_MS")
        if self.max_context_tokens <= self.reply_max_tokens:
            raise SettingsError("MAX_CONTEXT_TOKENS must be larger than REPLY_MAX_TOKENS")
        unknown = set(self.provider_names) - {"openai", "anthropic"}
        if unknown:
            raise SettingsError(f"LLM_PROVIDERS: unknown provider(s) {', '.join(sorted(unknown))}")
        if self.max_instructions_chars <= 0:
            raise SettingsError("MAX_INSTRUCTIONS_CHARS must be positive")
        self.model_list()
        for name in ("weatherapi_base_url", "open_meteo_geocoding_url", "open_meteo_forecast_url"):
            if not _is_https_or_loopback(getattr(self, name)):
                raise SettingsError(
                    f"{name.upper()} must be an https:// URL (http only on loopback)"
                )
        if self.calendar_ics_url and not _is_https_or_loopback(self.calendar_ics_url):
            raise SettingsError("CALENDAR_ICS_URL must be an https:// URL (http only on loopback)")

    def _validate_shared_state(self) -> None:
        if is_cluster_url(self.redis_url):
            try:
                parse_cluster_url(self.redis_url)
            except ValueError as exc:
                raise SettingsError(f"REDIS_URL: {exc}") from None
        if self.cache_ttl_hours < 0:
            raise SettingsError("CACHE_TTL_HOURS must not be negative")
        if self.session_ttl_minutes <= 0:
            raise SettingsError("SESSION_TTL_MINUTES must be positive")
        if self.session_scope not in ("chat", "user"):
            raise SettingsError("SESSION_SCOPE must be 'chat' or 'user'")
        if self.api_rate_limit_rps < 0:
            raise SettingsError("API_RATE_LIMIT_RPS must not be negative (0 turns limits off)")
        if self.api_rate_limit_burst < 1:
            raise SettingsError("API_RATE_LIMIT_BURST must be at least 1")
        if self.budget_cache_s < 0:
            raise SettingsError("BUDGET_CACHE_S must not be negative")
        if self.idempotency_ttl_hours <= 0:
            raise SettingsError("IDEMPOTENCY_TTL_HOURS must be positive")
        if self.turn_lock_wait_s < 0 or self.turn_lock_ttl_s <= 0:
            raise SettingsError("TURN_LOCK_WAIT_S must not be negative, TURN_LOCK_TTL_S positive")
        if self.max_streams_per_owner < 0:
            raise SettingsError("MAX_STREAMS_PER_OWNER must not be negative (0: no limit)")
        for name in ("stream_heartbeat_s", "stream_buffer_events", "turn_events_max"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be positive")
        if self.turn_events_ttl_s <= 0:
            raise SettingsError("TURN_EVENTS_TTL_S must be positive")
        try:
            TrustedProxies.parse(self.trusted_proxies)
        except ValueError as exc:
            raise SettingsError(f"TRUSTED_PROXIES has an invalid network: {exc}") from None

    def price_table(self) -> PriceTable:
        """Returns the built-in prices overridden by LLM_PRICES_FILE (JSON or YAML), then by
        LLM_PRICES (JSON). Raises SettingsError naming the setting that is unusable."""
        file_text = ""
        if self.llm_prices_file:
            try:
                with open(self.llm_prices_file, encoding="utf-8") as file:
                    file_text = file.read()
            except OSError as exc:
                raise SettingsError(f"LLM_PRICES_FILE: cannot read it: {exc.strerror}") from None
            try:
                PriceTable.load(file_text=file_text)
            except ValueError as exc:
                raise SettingsError(f"LLM_PRICES_FILE: {exc}") from None
        try:
            return PriceTable.load(prices_json=self.llm_prices, file_text=file_text)
        except ValueError as exc:
            raise SettingsError(f"LLM_PRICES: {exc}") from None

    def provider_configured(self, provider: str) -> bool:
        """Returns whether `provider` ("openai", "anthropic") has a key or a base URL."""
        if provider == "openai":
            return bool(self.openai_api_key or self.openai_base_url)
        if provider == "anthropic":
            return bool(self.anthropic_api_key or self.anthropic_base_url)
        return False

    def model_list(self) -> tuple[tuple[str, str], ...]:
        """Returns the allowed models as ("provider:model", display name or "") pairs, the
        default first: MODELS, or else each configured provider of LLM_PROVIDERS with its
        OPENAI_MODEL / ANTHROPIC_MODEL (empty when none is: the offline model answers).

        Raises SettingsError for an entry that is malformed, repeated, or names a provider
        with neither a key nor a base URL.
        """
        if not self.models.strip():
            defaults = {"openai": self.openai_model, "anthropic": self.anthropic_model}
            return tuple(
                (f"{name}:{defaults[name]}", "")
                for name in dict.fromkeys(self.provider_names)
                if self.provider_configured(name)
            )
        entries: dict[str, str] = {}
        for raw in self.models.split(","):
            spec, _, shown = raw.strip().partition("=")
            provider, _, model = spec.strip().partition(":")
            provider, model = provider.strip().lower(), model.strip()
            if not raw.strip():
                continue
            if provider not in ("openai", "anthropic") or not model:
                raise SettingsError(
                    f"MODELS: {raw.strip()!r} is not openai:<model> or anthropic:<model>"
                )
            if not self.provider_configured(provider):
                raise SettingsError(
                    f"MODELS names {provider}:{model}, but {provider.upper()}_API_KEY and "
                    f"{provider.upper()}_BASE_URL are both unset"
                )
            model_id = f"{provider}:{model}"
            if model_id in entries:
                raise SettingsError(f"MODELS lists {model_id} twice")
            entries[model_id] = shown.strip()
        return tuple(entries.items())

    @property
    def provider_names(self) -> tuple[str, ...]:
        """Returns LLM_PROVIDERS as lower-case names, in order, without blanks."""
        return tuple(p.strip().lower() for p in self.llm_providers.split(",") if p.strip())


def _is_https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _parse(name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, Secret):
            return Secret(raw)
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise SettingsError(
            f"{name.upper()}={raw!r} is not a valid {type(default).__name__}"
        ) from None
    return raw
