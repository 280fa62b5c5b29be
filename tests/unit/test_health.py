"""Health: each dependency ok, degraded or down, in the original's JSON shape; readiness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat_service.edge.health import Health, Report

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _down():
    raise ConnectionError("mongodb://acai:pw@db:27017 refused")


def _health(mongodb=lambda: None, redis=lambda: None, pending=()):
    return Health(
        mongodb=mongodb, redis=redis, pending_migrations=lambda: list(pending), clock=lambda: NOW
    )


def test_all_ok_is_healthy_in_the_original_shape():
    report = _health().health()
    assert report.status_code == 200
    assert report.body == {
        "status": "healthy",
        "timestamp": NOW.isoformat(),
        "checks": {"mongodb": "ok", "redis": "ok"},
    }


def test_mongodb_down_is_unhealthy_and_hides_the_reason():
    report = _health(mongodb=_down).health()
    assert report.status_code == 503
    assert report.body["status"] == "unhealthy"
    assert report.body["checks"]["mongodb"] == "down"
    assert "refused" not in str(report.body)


def test_redis_down_is_degraded():
    report = _health(redis=_down).health()
    assert (report.status_code, report.body["status"]) == (200, "degraded")
    assert report.body["checks"]["redis"] == "down"


@pytest.mark.parametrize(
    ("breaker", "shown", "status"),
    [
        ("closed", "ok", "healthy"),
        ("half_open", "degraded", "degraded"),
        ("open", "down", "degraded"),
        ("melted", "down", "degraded"),
    ],
)
def test_breakers_report_through_the_hook(breaker, shown, status):
    health = _health()
    health.watch_breaker("llm:openai", lambda: breaker)
    report = health.health()
    assert report.body["checks"]["llm:openai"] == shown
    assert (report.status_code, report.body["status"]) == (200, status)


def test_a_failing_watcher_counts_as_down():
    health = _health()
    health.watch("search", _down)
    assert health.health().body["checks"]["search"] == "down"


def test_ready_needs_mongodb_and_every_migration():
    assert _health().ready().status_code == 200
    down = _health(mongodb=_down).ready()
    assert (down.status_code, down.body["reason"]) == (503, "mongodb unavailable")
    pending = _health(pending=["v0006 api_keys"]).ready()
    assert pending.status_code == 503
    assert pending.body == {
        "status": "not ready",
        "reason": "migrations pending",
        "pending": ["v0006 api_keys"],
    }


def test_a_draining_instance_is_not_ready_but_stays_healthy():
    draining = [False]
    health = Health(
        mongodb=lambda: None,
        redis=lambda: None,
        pending_migrations=list,
        clock=lambda: NOW,
        draining=lambda: draining[0],
    )
    assert health.ready().status_code == 200

    draining[0] = True

    assert health.ready() == _not_ready_shutting_down()
    assert health.health().status_code == 200


def test_a_draining_check_that_fails_leaves_readiness_to_the_dependencies():
    def broken():
        raise OSError("no such volume")

    health = Health(
        mongodb=lambda: None,
        redis=lambda: None,
        pending_migrations=list,
        clock=lambda: NOW,
        draining=broken,
    )
    assert health.ready().status_code == 200


def _not_ready_shutting_down():
    return Report(503, {"status": "not ready", "reason": "shutting down"})


def test_every_ping_is_reported_for_the_dependency_up_metric():
    heard = []
    health = Health(
        mongodb=lambda: None,
        redis=_down,
        pending_migrations=list,
        clock=lambda: NOW,
        on_check=lambda name, reached: heard.append((name, reached)),
    )
    health.health()
    health.ready()
    assert heard == [("mongodb", True), ("redis", False), ("mongodb", True)]
