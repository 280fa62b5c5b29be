"""Prometheus metrics: every series the service exposes, and the calls that record them.

One `Metrics` per app, on its own registry (nothing global). With `multiprocess_dir` (the
PROMETHEUS_MULTIPROC_DIR of several uvicorn workers) the exposition sums every worker's
files. Label values that come from users are bounded (`user_cap`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector

from chat_service.observability.attribution import Attribution
from chat_service.observability.bounded_labels import BoundedLabels
from chat_service.observability.prices import PriceTable

logger = logging.getLogger(__name__)

BREAKER_STATES = {"closed": 0, "open": 1, "half_open": 2}
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_MILLISECONDS = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
_LLM = ("provider", "model", "operation")
_WHO = ("owner", "user_id", "platform")
_OPENAI = ("operation", "model", "user_id", "platform")  # the original service's labels


class Metrics:
    """Records what the service does; each method is cheap and thread-safe."""

    def __init__(
        self,
        *,
        prices: PriceTable,
        user_cap: int = 100,
        multiprocess_dir: str = "",
    ) -> None:
        if multiprocess_dir and not os.path.isdir(multiprocess_dir):
            raise ValueError(f"PROMETHEUS_MULTIPROC_DIR {multiprocess_dir!r} is not a directory")
        if multiprocess_dir and os.environ.get("PROMETHEUS_MULTIPROC_DIR") != multiprocess_dir:
            # prometheus_client picks its storage when imported, from the environment.
            raise ValueError("PROMETHEUS_MULTIPROC_DIR must be set in the process environment")
        # `*_created` samples double the series and no query here uses them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self._prices = prices
        self._users = BoundedLabels(cap=user_cap)
        self._owners = BoundedLabels(cap=user_cap)
        self._multiprocess_dir = multiprocess_dir
        self._breakers: dict[str, Callable[[], str]] = {}
        self._breakers_lock = threading.Lock()
        self._unpriced: set[str] = set()
        self.registry = CollectorRegistry(auto_describe=True)
        if not multiprocess_dir:
            ProcessCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        r = self.registry
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=_SECONDS,
            registry=r,
        )
        self.http_in_flight = Gauge(
            "http_requests_in_flight",
            "HTTP requests being served",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.twirp_requests = Counter(
            "twirp_requests_total",
            "Twirp calls by method and error code (ok: success)",
            ["service", "method", "code"],
            registry=r,
        )
        self.llm_requests = Counter(
            "llm_requests_total", "Language-model calls", [*_LLM, "outcome"], registry=r
        )
        self.llm_duration = Histogram(
            "llm_request_duration_seconds",
            "Language-model call latency",
            list(_LLM),
            buckets=_SECONDS,
            registry=r,
        )
        self.llm_tokens = Counter(
            "llm_tokens_total",
            "Tokens used by language-model calls",
            [*_LLM, "type", *_WHO],
            registry=r,
        )
        self.llm_cost = Counter(
            "llm_cost_usd_total",
            "Estimated cost of language-model calls (price table)",
            ["provider", "model", *_WHO],
            registry=r,
        )
        self.openai_tokens_input = Counter(
            "openai_tokens_input_total", "Input tokens of OpenAI calls", _OPENAI, registry=r
        )
        self.openai_tokens_output = Counter(
            "openai_tokens_output_total", "Output tokens of OpenAI calls", _OPENAI, registry=r
        )
        self.openai_tokens = Counter(
            "openai_tokens_total", "Tokens of OpenAI calls", _OPENAI, registry=r
        )
        self.openai_requests = Counter("openai_requests_total", "OpenAI calls", _OPENAI, registry=r)
        self.openai_duration = Histogram(
            "openai_request_duration_ms",
            "OpenAI call latency in milliseconds",
            _OPENAI,
            buckets=_MILLISECONDS,
            registry=r,
        )
        self.breaker_state = Gauge(
            "circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 open, 2 half-open",
            ["breaker"],
            multiprocess_mode="livemostrecent",
            registry=r,
        )
        self.weather_breaker_state = Gauge(
            "weather_circuit_state",
            "The weather tool's breaker (the original's name)",
            multiprocess_mode="livemostrecent",
            registry=r,
        )
        self.cache_requests = Counter(
            "cache_requests_total",
            "Cache lookups by cache and result",
            ["cache", "result"],
            registry=r,
        )
        self.tool_calls = Counter(
            "tool_calls_total", "Tool calls by tool and outcome", ["tool", "outcome"], registry=r
        )
        self.tool_duration = Histogram(
            "tool_call_duration_seconds",
            "Tool call latency",
            ["tool"],
            buckets=_SECONDS,
            registry=r,
        )
        self.rate_limited_requests = Counter(
            "rate_limited_requests_total",
            "Requests refused by a rate limit",
            ["scope"],
            registry=r,
        )

    def http_request(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Records one HTTP request (`route` is a route template, never a raw path)."""
        method = method if method in _HTTP_METHODS else "other"
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def twirp_call(self, *, service: str, method: str, code: str) -> None:
        """Records one Twirp call; `code` is "ok" or the Twirp error code."""
        self.twirp_requests.labels(service, method, code).inc()

    def llm_call(
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

        `outcome` is "ok" or why it failed; `priced_model` (default `model`) is the name
        looked up in the price table, e.g. the dated model the provider answered with.
        """
        owner, user, platform = self._owners(who.owner), self._users(who.user_id), who.platform
        self.llm_requests.labels(provider, model, operation, outcome).inc()
        self.llm_duration.labels(provider, model, operation).observe(seconds)
        for kind, count in (("input", input_tokens), ("output", output_tokens)):
            if count:
                self.llm_tokens.labels(provider, model, operation, kind, owner, user, platform).inc(
                    count
                )
        price = self._prices.price_of(priced_model or model)
        if price is not None:
            cost = price.cost(input_tokens, output_tokens)
            if cost:
                self.llm_cost.labels(provider, model, owner, user, platform).inc(cost)
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

    def record_tool_call(self, tool: str, outcome: str, seconds: float) -> None:
        """Records one tool call; `outcome` is "ok", "error", "timeout", "rejected"..."""
        self.tool_calls.labels(tool, outcome).inc()
        self.tool_duration.labels(tool).observe(seconds)

    def cache_event(self, kind: str, hit: bool) -> None:
        """Records one lookup in the cache `kind` ("title", "weather"...), hit or miss."""
        self.cache_requests.labels(kind, "hit" if hit else "miss").inc()

    def rate_limited(self, scope: str) -> None:
        """Records one request refused by the rate limit `scope` ("key", "ip"...)."""
        self.rate_limited_requests.labels(scope).inc()

    def set_breaker_state(self, name: str, state: str) -> None:
        """Sets breaker `name` to "closed", "open" or "half_open". Raises ValueError otherwise."""
        if state not in BREAKER_STATES:
            raise ValueError(f"unknown breaker state {state!r}")
        self.breaker_state.labels(name).set(BREAKER_STATES[state])
        if name == "weather":
            self.weather_breaker_state.set(BREAKER_STATES[state])

    def watch_breaker(self, name: str, state_of: Callable[[], str]) -> None:
        """Reads breaker `name` through `state_of` at every scrape (instead of pushing it)."""
        with self._breakers_lock:
            self._breakers[name] = state_of
        self.set_breaker_state(name, state_of())

    def exposition(self) -> tuple[bytes, str]:
        """Returns the text exposition of every metric (all workers') and its content type."""
        with self._breakers_lock:
            watched = list(self._breakers.items())
        for name, state_of in watched:
            try:
                self.set_breaker_state(name, state_of())
            except Exception:
                logger.warning(
                    "could not read a breaker's state", exc_info=True, extra={"breaker": name}
                )
        if not self._multiprocess_dir:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(combined), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """Marks this worker gone, so its live gauges drop out of the multiprocess totals."""
        if self._multiprocess_dir:
            multiprocess.mark_process_dead(os.getpid(), self._multiprocess_dir)  # type: ignore[no-untyped-call]
