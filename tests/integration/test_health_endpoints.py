"""/health and /ready of the real app over the real servers (and over unreachable ones)."""

from __future__ import annotations

import pymongo
import pytest
from starlette.testclient import TestClient

import migrations
from chat_service.composition.app import create_app
from chat_service.config import Secret, Settings
from tests import canaries
from tests.fakes.scripted_model import ScriptedChatModel
from tests.fakes.uvicorn_thread import free_port


@pytest.fixture
def settings(redis_url, mongo_uri, mongo_database_name):
    return Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=mongo_database_name,
        api_key=Secret(canaries.API_KEY),
        mongo_timeout_ms=1000,
        redis_timeout_s=0.5,
    )


def test_ready_waits_for_the_migrations(settings, mongo_uri):
    with TestClient(create_app(settings, model=ScriptedChatModel())) as client:
        pending = client.get("/ready")
        assert pending.status_code == 503
        assert pending.json()["reason"] == "migrations pending"
        with pymongo.MongoClient(mongo_uri) as mongo:
            migrations.apply_all(mongo[settings.mongo_database])
        assert client.get("/ready").json() == {"status": "ready"}
        health = client.get("/health").json()
        assert health["status"] == "healthy"
        assert health["checks"] == {"mongodb": "ok", "redis": "ok"}


def test_redis_down_is_degraded_not_down(settings):
    settings = Settings(**{**settings.__dict__, "redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(settings, model=ScriptedChatModel())) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["redis"] == "down"


def test_mongodb_down_fails_start_up_without_leaking_its_password(settings):
    uri = f"mongodb://acai:{canaries.MONGO_PASSWORD}@127.0.0.1:{free_port()}/?authSource=admin"
    settings = Settings(**{**settings.__dict__, "mongo_uri": uri, "mongo_timeout_ms": 200})
    app = create_app(settings, model=ScriptedChatModel())
    with pytest.raises(RuntimeError, match="MongoDB is unreachable") as failure, TestClient(app):
        pass
    assert canaries.MONGO_PASSWORD not in str(failure.value)
