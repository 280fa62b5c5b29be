"""Prompt overrides in the `prompts` collection, read through PromptBook."""

from __future__ import annotations

import pymongo.errors
import pytest

from chat_service.adapters.mongo.client import connect_mongo
from chat_service.adapters.mongo.prompt_store import MongoPromptStore
from chat_service.core import prompts
from chat_service.core.prompt_book import PromptBook
from migrations import apply_all


@pytest.fixture
def database(mongo_uri, mongo_database_name):
    client = connect_mongo(mongo_uri, timeout_ms=5000)
    db = client[mongo_database_name]
    apply_all(db)
    yield db
    client.close()


def _prompt(name, platform, version, content, active=True):
    return {
        "name": name,
        "platform": platform,
        "version": version,
        "content": content,
        "active": active,
    }


def test_the_newest_active_version_for_the_platform_wins_then_all_then_built_in(database):
    database.prompts.insert_many(
        [
            _prompt("system", "all", 1, "generic v1"),
            _prompt("system", "all", 2, "generic v2"),
            _prompt("system", "telegram", 1, "telegram v1"),
            _prompt("system", "telegram", 2, "telegram v2 (draft)", active=False),
        ]
    )
    book = PromptBook(MongoPromptStore(database))
    assert book.system("telegram") == "telegram v1"
    assert book.system("web") == "generic v2"
    assert book.system("") == "generic v2"
    assert book.title("telegram") == prompts.TITLE_INSTRUCTION


def test_overrides_are_cached_for_the_ttl(database, clock):
    book = PromptBook(MongoPromptStore(database), ttl_s=60, clock=clock.monotonic)
    assert book.system("web") == prompts.DEFAULT_SYSTEM_PROMPT
    database.prompts.insert_one(_prompt("system", "all", 1, "new text"))
    clock.advance(59)
    assert book.system("web") == prompts.DEFAULT_SYSTEM_PROMPT
    clock.advance(2)  # 61 s after the read
    assert book.system("web") == "new text"


def test_versions_are_unique_per_name_and_platform(database):
    database.prompts.insert_one(_prompt("title", "all", 1, "a"))
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        database.prompts.insert_one(_prompt("title", "all", 1, "b"))


def test_an_unreachable_store_falls_back_to_the_built_in_prompt():
    client = connect_mongo("mongodb://127.0.0.1:9", timeout_ms=200)
    book = PromptBook(MongoPromptStore(client["x"]))
    assert book.system("web") == prompts.DEFAULT_SYSTEM_PROMPT
    client.close()
