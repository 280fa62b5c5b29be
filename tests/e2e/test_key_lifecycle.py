"""A key's life as an operator lives it: the service runs open until the first key, closes
when one is created with the keys CLI, and stays closed once every key is revoked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pymongo
import pytest
from twirp.context import Context
from twirp.exceptions import TwirpServerException

import migrations
from chat_service.composition.app import create_app
from chat_service.config import Settings
from gen.acai.chat import chat_pb2 as pb
from gen.acai.chat.chat_twirp import ChatServiceClient
from tests.fakes.uvicorn_thread import serve

ROOT = Path(__file__).resolve().parents[2]
CACHE_S = 0.2  # API_KEY_CACHE_S: how long a revoked key may still work


@pytest.fixture
def settings(redis_url, mongo_uri):
    """An app with a database of its own, without API_KEY: open until a key is stored."""
    settings = Settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        mongo_database=f"e2e_keys_{uuid.uuid4().hex[:12]}",
        api_key_cache_s=CACHE_S,
        api_rate_limit_rps=0,
        auth_failure_limit=0,  # tested apart: loopback's bucket is shared by the run's apps
    )
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[settings.mongo_database])
        yield settings
        client.drop_database(settings.mongo_database)


def _keys_cli(settings: Settings, *args: str) -> str:
    """Runs `python -m chat_service.keys ARGS` against the app's database; returns stdout."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MONGO_URI": settings.mongo_uri,
        "MONGO_DATABASE": settings.mongo_database,
    }
    done = subprocess.run(
        [sys.executable, "-m", "chat_service.keys", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _list(client: ChatServiceClient, key: str | None) -> str:
    """Calls ListConversations; returns "ok" or the Twirp error code."""
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    try:
        client.ListConversations(
            ctx=Context(headers=headers), request=pb.ListConversationsRequest()
        )
    except TwirpServerException as exc:
        return str(exc.code.value)
    return "ok"


def test_revoking_the_last_key_closes_the_service_instead_of_opening_it(settings, log_audit):
    with serve(create_app(settings)) as url:
        client = ChatServiceClient(url, timeout=30)
        assert _list(client, None) == "ok"  # no key has ever existed: open, as on a laptop

        key = _keys_cli(settings, "create", "--owner", "alice")
        log_audit.watch("the key from the keys CLI", key)
        time.sleep(CACHE_S * 2)
        assert _list(client, key) == "ok"
        assert _list(client, None) == "unauthenticated"

        _keys_cli(settings, "revoke", key)
        time.sleep(CACHE_S * 2)
        assert _list(client, key) == "unauthenticated"
        assert _list(client, None) == "unauthenticated"

    # A restart does not reopen it either: revoked keys still count as keys in use.
    with serve(create_app(settings)) as url:
        client = ChatServiceClient(url, timeout=30)
        assert _list(client, None) == "unauthenticated"
        assert _list(client, key) == "unauthenticated"


def test_an_open_service_refuses_a_key_that_does_not_exist(settings):
    with serve(create_app(settings)) as url:
        client = ChatServiceClient(url, timeout=30)
        assert _list(client, None) == "ok"
        assert _list(client, "acai_made-up-key-0000000000000000000000000000") == "unauthenticated"
        assert _list(client, None) == "ok"  # still open for callers without a key
