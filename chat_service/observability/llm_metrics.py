"""The language-model series: calls, latency, time to first token, tokens and estimated cost by
provider and model, attributed to the owner, platform and user; and the original service's
`openai_*` names."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Histogram

from chat_service.core.prices import PriceTable
from chat_service.observability.attribution import Attribution
from chat_service.observability.bounded_labels import BoundedLabels

logger = logging.getLogger(__name__)

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_MILLISECONDS = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
_LLM = ("provider", "model", "operation")
_WHO = ("owner", "user_id", "platform")
_OPENAI = ("operation", "model", "user_id", "platform")  # the original service's labels


class LlmMetrics:
    """Records language-model calls on `registry`; `owner` and `user_id` label values are
    bounded by `user_cap` (the rest count as "other")."""

    def __init__(self, *, registry: CollectorRegistry, prices: PriceTable, user_cap: int) -> None:
        self._prices = prices
        self._users = BoundedLabels(cap=user_cap)
        self._owners = BoundedLabels(cap=user_cap)
        self._unpriced: set[str] = set()
        self.requests = Counter(
            "llm_requests_total", "Language-model calls", [*_LLM, "outcome"], registry=registry
        )
        self.duration = Histogram(
            "llm_request_duration_seconds",
            "Language-model call latency",
            list(_LLM),
            buckets=SECONDS,
            registry=registry,
        )
        self.first_token = Histogram(
            "llm_time_to_first_token_seconds",
            "Time from a streamed language-model call to its first text delta",
            list(_LLM),
            buckets=SECONDS,
            registry=registry,
        )
        self.tokens = Counter(
            "llm_tokens_total",
            "Tokens used by language-model calls",
            [*_LLM, "type", *_WHO],
            registry=registry,
        )
        self.cost = Counter(
            "llm_cost_usd_total",
            "Estimated cost of language-model calls (price table)",
            ["provider", "model", *_WHO],
            registry=registry,
        )
        # Spend and tokens without any user label: provider and model are those configured
        # (each provider is observed under its configured model), so the series stay few.
        self.spend = Counter(
            "llm_spend_usd_total",
            "USD spent on language-model calls (price table)",
            ["provider", "model"],
            registry=registry,
        )
        self.usage_tokens = Counter(
            "llm_usage_tokens_total",
            "Tokens of language-model calls",
            ["provider", "model", "kind"],
            registry=registry,
        )
        self.openai_tokens_input = Counter(
            "openai_tokens_input_total", "Input tokens of OpenAI calls", _OPENAI, registry=registry
        )
        self.openai_tokens_output = Counter(
            "openai_tokens_output_total",
            "Output tokens of OpenAI calls",
            _OPENAI,
            registry=registry,
        )
        self.openai_tokens = Counter(
            "openai_tokens_total", "Tokens of OpenAI calls", _OPENAI, registry=registry
        )
        self.openai_requests = Counter(
            "openai_requests_total", "OpenAI calls", _OPENAI, registry=registry
        )
        self.openai_duration = Histogram(
            "openai_request_duration_ms",
            "OpenAI call latency in milliseconds",
            _OPENAI,
            buckets=_MILLISECONDS,
            registry=registry,
        )

    def record_first_token(
        self, *, provider: str, model: str, operation: str, seconds: float
    ) -> None:
        """Records how long a streamed call took to pass on its first text delta."""
        self.first_token.labels(provider, model, operation).observe(seconds)

    def record(
        self,
        *,
        provider: str,
        model: str,
        operation: str,
        outcome: str,
        seconds: float,
        input_tokens: int = 0,
        output_tokens: int = 0,
        priced_model: str = "",
        who: Attribution,
    ) -> None:
        """Records one language-model call: count, latency, tokens and estimated cost.

        `outcome` is "ok", "cancelled" (the caller stopped a stream) or why it failed;
        `priced_model` (default `model`) is the name
        looked up in the price table, e.g. the dated model the provider answered with.
        """
        owner, user, platform = self._owners(who.owner), self._users(who.user_id), who.platform
        self.requests.labels(provider, model, operation, outcome).inc()
        self.duration.labels(provider, model, operation).observe(seconds)
        for kind, count in (("input", input_tokens), ("output", output_tokens)):
            if count:
                self.tokens.labels(provider, model, operation, kind, owner, user, platform).inc(
                    count
                )
                self.usage_tokens.labels(provider, model, kind).inc(count)
        price = self._prices.price_of(priced_model or model)
        if price is not None:
            cost = price.cost(input_tokens, output_tokens)
            if cost:
                self.cost.labels(provider, model, owner, user, platform).inc(cost)
                self.spend.labels(provider, model).inc(cost)
        elif (input_tokens or output_tokens) and model not in self._unpriced:
            self._unpriced.add(model)
            logger.warning(
                "no price for the model; its cost is not counted", extra={"model": model}
            )
        if provider == "openai":
            labels = (operation, model, user, platform)
            self.openai_requests.labels(*labels).inc()
            self.openai_duration.labels(*labels).observe(seconds * 1000)
            self.openai_tokens_input.labels(*labels).inc(input_tokens)
            self.openai_tokens_output.labels(*labels).inc(output_tokens)
            self.openai_tokens.labels(*labels).inc(input_tokens + output_tokens)
