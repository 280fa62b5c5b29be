"""The rate limit as the app runs it: inside the authentication, refusing in Twirp's shape
with Retry-After, and counted in /metrics."""

from __future__ import annotations

import dataclasses
import uuid
from urllib.parse import urlsplit, urlunsplit

import pymongo
import pytest
import requests

import migrations
from chat_service.composition.app import create_app
from chat_service.config import Secret
from tests import canaries
from tests.e2e.conftest import ROUTE
from tests.fakes.uvicorn_thread import serve
from tests.metrics_text import value

BURST = 2


@pytest.fixture(scope="module")
def limited_url(app_settings, mongo_uri):
    # A Redis database of its own: other apps of the run share 127.0.0.1's bucket otherwise.
    parts = urlsplit(app_settings.redis_url)
    settings = dataclasses.replace(
        app_settings,
        redis_url=urlunsplit(parts._replace(path="/9")),
        mongo_database=f"e2e_limited_{uuid.uuid4().hex[:12]}",
        api_key=Secret(canaries.API_KEY),
        api_rate_limit_rps=0.001,  # nothing refills during the test
        api_rate_limit_burst=BURST,
    )
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        with serve(create_app(settings)) as url:
            yield url
        client.drop_database(settings.mongo_database)


def test_refusals_come_after_auth_in_twirp_shape_and_are_counted(limited_url):
    key = {"Authorization": f"Bearer {canaries.API_KEY}"}

    def list_conversations(headers):
        return requests.post(
            limited_url + ROUTE + "ListConversations", json={}, headers=headers, timeout=10
        )

    # Unauthenticated requests are refused by the authentication: they spend no tokens.
    for _ in range(BURST + 1):
        assert list_conversations({}).status_code == 401
    assert [list_conversations(key).status_code for _ in range(BURST)] == [200] * BURST
    refused = list_conversations(key)

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["content-type"] == "application/json"
    body = refused.json()
    assert body["code"] == "resource_exhausted"
    assert body["meta"]["limit"] in ("api_key", "client_ip")
    metrics = requests.get(limited_url + "/metrics", headers=key, timeout=10).text
    scopes = {"api_key": "key", "client_ip": "ip"}
    assert value(metrics, "rate_limit_rejections_total", scope=scopes[body["meta"]["limit"]]) == 1
    calls = {"service": "acai.chat.ChatService", "method": "ListConversations"}
    assert value(metrics, "twirp_requests_total", **calls, code="resource_exhausted") == 1
    assert value(metrics, "twirp_requests_total", **calls, code="unauthenticated") == BURST + 1
