"""Health and readiness: what /health and /ready report about the dependencies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

logger = logging.getLogger(__name__)

Check = Callable[[], object]
StateOf = Callable[[], str]
CheckListener = Callable[[str, bool], None]  # (dependency, reached)

OK, DEGRADED, DOWN = "ok", "degraded", "down"
_BREAKER_HEALTH = {"closed": OK, "half_open": DEGRADED, "open": DOWN}


@dataclass(frozen=True, slots=True)
class Report:
    """An HTTP status and the JSON body to send with it."""

    status_code: int
    body: Mapping[str, object]


class Health:
    """Reports each dependency as "ok", "degraded" or "down".

    MongoDB and Redis are pinged (a ping returns when healthy and raises otherwise); other
    dependencies report through `watch` / `watch_breaker`. MongoDB is required (down:
    unhealthy, 503); anything else not ok makes the service degraded (200), since it keeps
    answering, e.g. with the next provider. `on_check(name, reached)` hears the result of
    every ping (for the `dependency_up` metric). While `draining()` is true the instance is
    on its way out: /ready answers 503 so the load balancer stops sending it requests, and
    /health is unaffected (liveness must not restart a pod that is finishing its turns).
    """

    def __init__(
        self,
        *,
        mongodb: Check,
        redis: Check,
        pending_migrations: Callable[[], Sequence[str]],
        clock: Callable[[], datetime],
        on_check: CheckListener | None = None,
        draining: Callable[[], bool] = lambda: False,
    ) -> None:
        self._checks = {"mongodb": mongodb, "redis": redis}
        self._draining = draining
        self._on_check = on_check
        self._watched: dict[str, StateOf] = {}
        self._pending_migrations = pending_migrations
        self._clock = clock

    def watch(self, name: str, state_of: StateOf) -> None:
        """Reports dependency `name` as `state_of()` returns it: "ok", "degraded" or "down"
        (anything else, or an exception, counts as "down")."""
        self._watched[name] = state_of

    def watch_breaker(self, name: str, state_of: StateOf) -> None:
        """Reports a circuit breaker (e.g. "llm:openai") from its state: "closed" is ok,
        "half_open" degraded, "open" down."""
        self.watch(name, lambda: _BREAKER_HEALTH.get(state_of(), DOWN))

    def health(self) -> Report:
        """Returns the status of each dependency; never raises."""
        checks = {name: self._ping(name, check) for name, check in self._checks.items()}
        checks.update({name: _state(name, state_of) for name, state_of in self._watched.items()})
        if checks["mongodb"] != OK:
            status, code = "unhealthy", 503
        elif any(state != OK for state in checks.values()):
            status, code = "degraded", 200
        else:
            status, code = "healthy", 200
        body = {"status": status, "timestamp": self._clock().isoformat(), "checks": checks}
        return Report(code, body)

    def ready(self) -> Report:
        """Returns 200 when MongoDB answers and every migration is applied, 503 otherwise
        (first of all while draining: reason "shutting down")."""
        if self._is_draining():
            return Report(503, {"status": "not ready", "reason": "shutting down"})
        if self._ping("mongodb", self._checks["mongodb"]) != OK:
            return Report(503, {"status": "not ready", "reason": "mongodb unavailable"})
        try:
            pending = list(self._pending_migrations())
        except Exception:
            logger.warning("could not read the applied migrations", exc_info=True)
            return Report(503, {"status": "not ready", "reason": "mongodb unavailable"})
        if pending:
            body = {"status": "not ready", "reason": "migrations pending", "pending": pending}
            return Report(503, body)
        return Report(200, {"status": "ready"})

    def _is_draining(self) -> bool:
        try:
            return bool(self._draining())
        except Exception:
            logger.warning("could not tell whether the instance drains", exc_info=True)
            return False

    def _ping(self, name: str, check: Check) -> str:
        state = _run(name, check)
        if self._on_check is not None:
            try:
                self._on_check(name, state == OK)
            except Exception:
                logger.warning("could not record a health check", exc_info=True)
        return state


def _run(name: str, check: Check) -> str:
    try:
        check()
    except Exception as exc:
        # The reason stays in the log: public health output must not leak internals.
        logger.warning("health check failed", extra={"dependency": name, "error": repr(exc)})
        return DOWN
    return OK


def _state(name: str, state_of: StateOf) -> str:
    try:
        state = state_of()
    except Exception:
        logger.warning("health check failed", exc_info=True, extra={"dependency": name})
        return DOWN
    return state if state in (OK, DEGRADED, DOWN) else DOWN


def probe_routes(health: Health, *, limiter: anyio.CapacityLimiter) -> list[Route]:
    """Returns the /health and /ready routes; the checks run on threads, at most as many at
    once as `limiter` allows (probes never take the turns' threads)."""

    async def respond(report_of: Callable[[], Report]) -> JSONResponse:
        report = await anyio.to_thread.run_sync(report_of, limiter=limiter)
        return JSONResponse(report.body, status_code=report.status_code)

    async def health_endpoint(request: Request) -> JSONResponse:
        return await respond(health.health)

    async def ready_endpoint(request: Request) -> JSONResponse:
        return await respond(health.ready)

    return [
        Route("/health", health_endpoint, methods=["GET"]),
        Route("/ready", ready_endpoint, methods=["GET"]),
    ]
