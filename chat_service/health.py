"""Health and readiness: what /health and /ready report about the dependencies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

logger = logging.getLogger(__name__)

Check = Callable[[], object]


@dataclass(frozen=True, slots=True)
class Report:
    """An HTTP status and the JSON body to send with it."""

    status_code: int
    body: Mapping[str, object]


class Health:
    """Runs the dependency checks; each check returns when healthy and raises otherwise.

    MongoDB is required (down: unhealthy, 503); Redis is not (down: degraded, 200), since
    the service keeps answering without it.
    """

    def __init__(
        self,
        *,
        mongodb: Check,
        redis: Check,
        pending_migrations: Callable[[], Sequence[str]],
        clock: Callable[[], datetime],
    ) -> None:
        self._checks = {"mongodb": mongodb, "redis": redis}
        self._pending_migrations = pending_migrations
        self._clock = clock

    def health(self) -> Report:
        """Returns the status of each dependency; never raises."""
        checks = {name: _run(name, check) for name, check in self._checks.items()}
        if checks["mongodb"] != "ok":
            status, code = "unhealthy", 503
        elif checks["redis"] != "ok":
            status, code = "degraded", 200
        else:
            status, code = "healthy", 200
        body = {"status": status, "timestamp": self._clock().isoformat(), "checks": checks}
        return Report(code, body)

    def ready(self) -> Report:
        """Returns 200 when MongoDB answers and every migration is applied, 503 otherwise."""
        if _run("mongodb", self._checks["mongodb"]) != "ok":
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


def _run(name: str, check: Check) -> str:
    try:
        check()
    except Exception as exc:
        # The reason stays in the log: public health output must not leak internals.
        logger.warning("health check failed", extra={"dependency": name, "error": repr(exc)})
        return "unavailable"
    return "ok"
