"""A tool that hangs: the runner's timeout turns it into an error result for the model, the
turn completes, and nothing is invented (the stored tool result is the error, not weather).
"""

from __future__ import annotations

import json
from collections import deque

import pymongo
import pytest
import requests

from chat_service.composition.app import create_app
from chat_service.core import prompts
from tests.e2e.conftest import ROUTE
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.uvicorn_thread import serve
from tests.faults.ledger import Ledger, assert_consistent

TOOL_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def tool_app(fault_settings, redis_url, mongo_uri):
    settings = fault_settings(
        redis_url=redis_url,
        mongo_uri=mongo_uri,
        tool_timeout_s=TOOL_TIMEOUT_S,
        weather_timeout_s=20.0,  # the upstream call itself would wait: only the runner stops it
    )
    with serve(create_app(settings)) as url:
        yield url, settings


@pytest.fixture
def replies(fake_openai):
    queue: deque = deque()

    def responder(request):
        first = request["messages"][0]
        if first["role"] == "system" and first["content"].startswith(prompts.TITLE_INSTRUCTION):
            return "Weather"
        return queue.popleft() if queue else "(no more scripted replies)"

    fake_openai.responder = responder
    return queue


def test_a_hanging_tool_times_out_into_an_error_result_and_the_turn_completes(
    tool_app, fake_openai, fake_weather, replies
):
    url, settings = tool_app
    fake_weather.state.delay_s = 3.0  # far past the tool timeout
    replies.extend(
        [
            FakeOpenAIServer.tool_call("get_weather", {"location": "Oslo"}, call_id="w1"),
            "The weather service did not answer in time.",
        ]
    )
    response = requests.post(
        url + ROUTE + "StartConversation", json={"message": "Weather in Oslo?"}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "The weather service did not answer in time."

    sent = [r.json for r in fake_openai.requests if r.json["messages"][-1]["role"] == "tool"]
    assert len(sent) == 1
    error = {"error": f"the tool did not answer within {TOOL_TIMEOUT_S:g} s"}
    assert json.loads(sent[0]["messages"][-1]["content"]) == error

    conversation = response.json()["conversation_id"]
    with pymongo.MongoClient(settings.mongo_uri) as client:
        stored = list(
            client[settings.mongo_database].messages.find({"role": "tool"}, {"content": 1})
        )
    assert [json.loads(m["content"]) for m in stored] == [error]  # no invented weather
    ledger = Ledger()
    ledger.ack(conversation, "Weather in Oslo?")
    assert_consistent(settings.mongo_uri, settings.mongo_database, ledger)
