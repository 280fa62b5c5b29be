"""Prometheus metrics: every series the service exposes, and the calls that record them.

One `Metrics` per app, on its own registry (nothing global). With `multiprocess_dir` (the
PROMETHEUS_MULTIPROC_DIR of several uvicorn workers) the exposition sums every worker's
files. Label values that come from users are bounded (`user_cap`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Collection, Mapping

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

from chat_service.core.prices import PriceTable
from chat_service.observability.llm_metrics import SECONDS, LlmMetrics

logger = logging.getLogger(__name__)

BREAKER_STATES = {"closed": 0, "open": 1, "half_open": 2}
_SEVERITY = {"closed": 0, "half_open": 1, "open": 2}  # for the worst of several breakers
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class Metrics:
    """Records what the service does; each method is cheap and thread-safe. The language
    model series are in `llm` (LlmMetrics)."""

    def __init__(
        self,
        *,
        prices: PriceTable,
        user_cap: int = 100,
        multiprocess_dir: str = "",
        weather_breakers: Collection[str] = (),
    ) -> None:
        if multiprocess_dir and not os.path.isdir(multiprocess_dir):
            raise ValueError(f"PROMETHEUS_MULTIPROC_DIR {multiprocess_dir!r} is not a directory")
        if multiprocess_dir and os.environ.get("PROMETHEUS_MULTIPROC_DIR") != multiprocess_dir:
            # prometheus_client picks its storage when imported, from the environment.
            raise ValueError("PROMETHEUS_MULTIPROC_DIR must be set in the process environment")
        # `*_created` samples double the series and no query here uses them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self._multiprocess_dir = multiprocess_dir
        self._breaker_boards: list[Callable[[], Mapping[str, str]]] = []
        self._breaker_states: dict[str, str] = {}
        self._weather_breakers = frozenset(weather_breakers)
        self._breakers_lock = threading.Lock()
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
            buckets=SECONDS,
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
        self.twirp_duration = Histogram(
            "twirp_request_duration_seconds",
            "Twirp call latency",
            ["service", "method"],
            buckets=SECONDS,
            registry=r,
        )
        self.llm = LlmMetrics(registry=r, prices=prices, user_cap=user_cap)
        # Breakers are per process: one series per worker (pid), aggregated by queries.
        self.breaker_state = Gauge(
            "circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 open, 2 half-open",
            ["name"],
            multiprocess_mode="liveall",
            registry=r,
        )
        self.weather_breaker_state = Gauge(
            "weather_circuit_state",
            "The weather tool's breakers, the worst of them (the original's name)",
            multiprocess_mode="liveall",
            registry=r,
        )
        self.dependency_up = Gauge(
            "dependency_up",
            "1 when the last health check reached the dependency, 0 when not",
            ["dependency"],
            multiprocess_mode="livemostrecent",
            registry=r,
        )
        self.cache_requests = Counter(
            "cache_requests_total",
            "Cache lookups by kind and result",
            ["kind", "result"],
            registry=r,
        )
        self.tool_calls = Counter(
            "tool_calls_total", "Tool calls by tool and outcome", ["tool", "outcome"], registry=r
        )
        self.tool_duration = Histogram(
            "tool_call_duration_seconds",
            "Tool call latency",
            ["tool"],
            buckets=SECONDS,
            registry=r,
        )
        self.rate_limit_rejections = Counter(
            "rate_limit_rejections_total",
            "Requests refused by a rate limit",
            ["scope"],
            registry=r,
        )

    def http_request(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Records one HTTP request (`route` is a route template, never a raw path)."""
        method = method if method in _HTTP_METHODS else "other"
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def twirp_call(self, *, service: str, method: str, code: str, seconds: float) -> None:
        """Records one Twirp call; `code` is "ok" or the Twirp error code."""
        self.twirp_requests.labels(service, method, code).inc()
        self.twirp_duration.labels(service, method).observe(seconds)

    def record_tool_call(self, tool: str, outcome: str, seconds: float) -> None:
        """Records one tool call; `outcome` is "ok", "error", "timeout" or "invalid_arguments"."""
        self.tool_calls.labels(tool, outcome).inc()
        self.tool_duration.labels(tool).observe(seconds)

    def cache_event(self, kind: str, hit: bool) -> None:
        """Records one lookup in the cache `kind` ("reply", "title", "tool"), hit or miss."""
        self.cache_lookup(kind, "hit" if hit else "miss")

    def cache_lookup(self, kind: str, result: str) -> None:
        """Records one lookup in the cache `kind` with `result` "hit", "miss", "coalesced"
        or "bypass" (a small fixed set: callers never pass values from requests)."""
        self.cache_requests.labels(kind, result).inc()

    def rate_limited(self, scope: str) -> None:
        """Records one request refused by the rate limit `scope` ("key", "ip", "auth_failures")."""
        self.rate_limit_rejections.labels(scope).inc()

    def dependency_checked(self, dependency: str, up: bool) -> None:
        """Records the result of a health check of `dependency` ("mongodb", "redis")."""
        self.dependency_up.labels(dependency).set(1 if up else 0)

    def set_breaker_state(self, name: str, state: str) -> None:
        """Sets breaker `name` to "closed", "open" or "half_open" (call it on each
        transition). Raises ValueError for another state."""
        if state not in BREAKER_STATES:
            raise ValueError(f"unknown breaker state {state!r}")
        with self._breakers_lock:
            self._breaker_states[name] = state
            weather = [self._breaker_states.get(n) for n in self._weather_breakers]
        self.breaker_state.labels(name).set(BREAKER_STATES[state])
        if name in self._weather_breakers:
            worst = max((s for s in weather if s), key=_SEVERITY.__getitem__)
            self.weather_breaker_state.set(BREAKER_STATES[worst])

    def watch_breakers(self, states_of: Callable[[], Mapping[str, str]]) -> None:
        """Reads every breaker's state through `states_of` (name -> state) at each scrape,
        on top of the transitions pushed through `set_breaker_state`."""
        with self._breakers_lock:
            self._breaker_boards.append(states_of)
        self._read_breakers()

    def _read_breakers(self) -> None:
        with self._breakers_lock:
            boards = list(self._breaker_boards)
        for states_of in boards:
            try:
                for name, state in states_of().items():
                    self.set_breaker_state(name, state)
            except Exception:
                logger.warning("could not read the breakers' states", exc_info=True)

    def exposition(self) -> tuple[bytes, str]:
        """Returns the text exposition of every metric (all workers') and its content type."""
        self._read_breakers()
        if not self._multiprocess_dir:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(combined), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """Marks this worker gone, so its live gauges drop out of the multiprocess totals."""
        if self._multiprocess_dir:
            multiprocess.mark_process_dead(os.getpid(), self._multiprocess_dir)  # type: ignore[no-untyped-call]
