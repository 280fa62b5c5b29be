"""Streamed turns on the launcher's uvicorn with two workers, over the real Redis and MongoDB,
with the OpenAI and the Anthropic fake servers streaming paced deltas: a dropped stream resumed
on any worker, a stop from another connection, a provider failing mid-stream."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
import requests

import migrations
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.sse_reader import SseEvent, sse_events
from tests.fakes.sse_stream import Pacing
from tests.fakes.uvicorn_thread import free_port

ROOT = Path(__file__).resolve().parents[2]
RPC = "/twirp/acai.chat.ChatService/"
STREAM = "/stream/acai.chat.ChatService/"
WORDS = " ".join(f"w{i}" for i in range(24))


class Stack:
    """The launched service and the fake provider it streams from."""

    def __init__(self, url: str, fake: FakeOpenAIServer | FakeAnthropicServer) -> None:
        self.url = url
        self.fake = fake
        self.echo = "echo: " if isinstance(fake, FakeOpenAIServer) else "claude echo: "

    def rpc(self, method: str, body: object) -> dict:
        # A new connection each time: the call may land on either worker.
        answer = requests.post(self.url + RPC + method, json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def stream(self, method: str, body: object) -> requests.Response:
        response = requests.post(self.url + STREAM + method, json=body, stream=True, timeout=30)
        assert response.status_code == 200, response.text
        return response

    def resume(self, turn_id: str, after: int) -> list[SseEvent]:
        headers = {"Last-Event-ID": str(after), "Connection": "close"}
        with requests.get(
            self.url + "/stream/turns/" + turn_id, headers=headers, stream=True, timeout=30
        ) as response:
            assert response.status_code == 200, response.text
            return list(sse_events(response))

    def conversation(self) -> str:
        return self.rpc("StartConversation", {"message": "hello"})["conversation_id"]


@contextlib.contextmanager
def _launched(redis_url: str, mongo_uri: str, tmp: Path, provider: str) -> Iterator[Stack]:
    database = f"streams_{uuid.uuid4().hex[:10]}"
    with pymongo.MongoClient(mongo_uri) as client:
        migrations.apply_all(client[database])
    fake: FakeOpenAIServer | FakeAnthropicServer
    fake = FakeOpenAIServer() if provider == "openai" else FakeAnthropicServer()
    with fake:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "REDIS_URL": redis_url,
            "MONGO_URI": mongo_uri,
            "MONGO_DATABASE": database,
            "LLM_PROVIDERS": provider,
            "OPENAI_API_KEY": "sk-streams-test",
            "OPENAI_BASE_URL": fake.url if provider == "openai" else "",
            "ANTHROPIC_API_KEY": "sk-ant-streams-test",
            "ANTHROPIC_BASE_URL": fake.url if provider == "anthropic" else "",
            "PORT": str(port),
            "WORKERS": "2",
            "LOG_LEVEL": "WARNING",
            "CACHE_TTL_HOURS": "0",
            "API_RATE_LIMIT_RPS": "0",
            "RETRY_BASE_DELAY_MS": "1",
            "RETRY_MAX_DELAY_MS": "5",
        }
        log_path = tmp / f"{provider}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "chat_service.launcher"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            url = f"http://127.0.0.1:{port}"
            try:
                _wait_ready(url, process, log_path)
                yield Stack(url, fake)
            finally:
                _stop(process)
        with pymongo.MongoClient(mongo_uri) as client:
            client.drop_database(database)


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"the service did not become ready:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 9)
    process.wait()


@pytest.fixture(scope="module", params=["openai", "anthropic"])
def stack(request, redis_url, mongo_uri, tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("streams")
    with _launched(redis_url, mongo_uri, tmp, request.param) as launched:
        yield launched


@pytest.fixture(autouse=True)
def _paced(stack):
    stack.fake.reset()
    stack.fake.pacing = Pacing(first_token_delay_s=0.05, token_gap_s=0.03)
    yield
    stack.fake.reset()


def _text(events: list[SseEvent]) -> str:
    return "".join(e.body["text"] for e in events if e.event == "delta")


def test_a_dropped_stream_resumed_anywhere_yields_every_event_once_in_order(stack):
    conversation = stack.conversation()
    body = {"conversation_id": conversation, "message": WORDS}
    response = stack.stream("ContinueConversation", body)
    turn_id = response.headers["x-turn-id"]
    seen: list[SseEvent] = []
    for event in sse_events(response):
        seen.append(event)
        if len(seen) == 4:
            break
    response.close()  # dropped after a few events; the turn goes on
    # Each resume is a new connection (either worker); some come while it runs, one after.
    for _ in range(3):
        again = stack.resume(turn_id, seen[-1].id)
        seen.extend(again[:3] if again[-1].event != "completed" else again)
        if seen[-1].event == "completed":
            break
    if seen[-1].event != "completed":
        seen.extend(stack.resume(turn_id, seen[-1].id))
    assert [e.id for e in seen] == list(range(1, len(seen) + 1))
    assert [e.event for e in seen].count("completed") == 1
    assert seen[-1].event == "completed"
    assert len([e for e in seen if e.event == "delta"]) > 5  # the reply really streamed
    completed = seen[-1].body["continue"]
    assert completed["reply"] == _text(seen) == f"{stack.echo}{WORDS}"
    described = stack.rpc("DescribeConversation", {"conversation_id": conversation})
    messages = described["conversation"]["messages"]
    assert [m["content"] for m in messages][-2:] == [WORDS, completed["reply"]]
    # The turn's usage, as the unary response carries it, is the answer's stored usage.
    stored, streamed = messages[-1]["usage"], completed["usage"]
    assert streamed["outputTokens"] == str(stored["output_tokens"])
    assert [c["operation"] for c in streamed["calls"]] == ["reply"]
    assert [c["operation"] for c in stored["calls"]] == ["reply"]
    assert stack.resume(turn_id, 0) == seen  # the whole turn, from the start, once more


def test_a_stop_from_another_connection_ends_the_stream_and_keeps_what_was_sent(stack):
    stack.fake.pacing = Pacing(first_token_delay_s=0.05, token_gap_s=0.15)
    conversation = stack.conversation()
    body = {"conversation_id": conversation, "message": WORDS}
    response = stack.stream("ContinueConversation", body)
    turn_id = response.headers["x-turn-id"]
    events: list[SseEvent] = []
    for event in sse_events(response):
        events.append(event)
        if event.event == "delta" and len(events) == 3:
            # Several times: each call may land on either worker.
            first = stack.rpc("CancelTurn", {"turn_id": turn_id})
            assert first == {"cancelled": True, "turn_id": turn_id}
    response.close()
    assert events[-1].event == "cancelled"
    partial = events[-1].body["partialText"]
    assert partial == _text(events)
    assert f"{stack.echo}{WORDS}".startswith(partial)
    assert len(partial) < len(f"{stack.echo}{WORDS}")
    messages = stack.rpc("DescribeConversation", {"conversation_id": conversation})["conversation"][
        "messages"
    ]
    assert (messages[-1]["content"], messages[-1]["finish_reason"]) == (partial, "cancelled")
    for _ in range(3):
        assert stack.rpc("CancelTurn", {"turn_id": turn_id}) == {
            "cancelled": False,
            "turn_id": turn_id,
        }
    assert stack.resume(turn_id, 0) == events


def test_a_provider_failing_mid_stream_is_a_failed_event_and_nothing_is_stored(stack):
    conversation = stack.conversation()
    before = stack.rpc("DescribeConversation", {"conversation_id": conversation})
    stack.fake.script(stack.fake.broken_stream("one two three four five", after_deltas=2))
    body = {"conversation_id": conversation, "message": "break"}
    with stack.stream("ContinueConversation", body) as response:
        events = list(sse_events(response))
    assert [e.event for e in events] == ["started", "delta", "delta", "failed"]
    assert events[-1].body["code"] == "unavailable"
    after = stack.rpc("DescribeConversation", {"conversation_id": conversation})
    assert after["conversation"]["messages"] == before["conversation"]["messages"]
    assert stack.resume(response.headers["x-turn-id"], 0) == events
