"""The fake OpenAI server itself: wire details the adapter tests do not reach."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.ports.chat_model import ChatMessage, PromptRole
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.openai_wire import Reply

API_KEY = "sk-test"
REPO = Path(__file__).resolve().parents[2]
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def client(server):
    with openai_client(api_key=API_KEY, base_url=server.url, timeout_s=5) as sdk:
        yield sdk


def test_completion_has_the_wire_shape(server, client):
    server.script(Reply("hi", usage=(3, 1)))

    raw = client.chat.completions.with_raw_response.create(model="m", messages=HELLO)
    body = json.loads(raw.text)

    assert body["object"] == "chat.completion"
    assert body["model"] == "m"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "hi", "refusal": None}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


def test_errors_have_openai_shape_and_retry_after(server, client):
    server.script(FakeOpenAIServer.error(429, retry_after=2))

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=HELLO)

    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.code == "rate_limit_exceeded"
    assert set(caught.value.response.json()["error"]) == {"message", "type", "param", "code"}


def test_generated_tool_call_ids_are_unique_across_replies(server, client):
    server.script(FakeOpenAIServer.tool_call("clock", {}), FakeOpenAIServer.tool_call("clock", {}))

    ids = [
        client.chat.completions.create(model="m", messages=HELLO)
        .choices[0]
        .message.tool_calls[0]
        .id
        for _ in range(2)
    ]

    assert ids[0] != ids[1]


def test_responder_and_reset(server, client):
    server.responder = lambda request: f"{len(request['messages'])} messages"
    server.script("scripted")

    answers = [
        client.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
        for _ in range(2)
    ]
    server.reset()

    assert answers == ["scripted", "1 messages"]
    assert server.requests == []
    assert server.pending == 0
    assert client.chat.completions.create(model="m", messages=HELLO).choices[0].message.content == (
        "echo: hello"
    )


def test_server_streams_sse_chunks_the_sdk_can_read(server, client):
    server.script(Reply("one two three", usage=(4, 3)))

    stream = client.chat.completions.create(
        model="gpt-test",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


def test_server_answers_hundreds_of_concurrent_requests_in_parallel():
    with FakeOpenAIServer(latency_s=1.0) as fake:
        sdk = openai_client(api_key=API_KEY, base_url=fake.url, timeout_s=30)
        model = OpenAIChatModel(sdk, model="m")
        ask = lambda i: model.complete([ChatMessage(PromptRole.USER, str(i))])  # noqa: E731
        started = time.monotonic()
        with sdk, ThreadPoolExecutor(max_workers=300) as pool:
            replies = list(pool.map(ask, range(300)))
        elapsed = time.monotonic() - started

    assert [r.content for r in replies] == [f"echo: {i}" for i in range(300)]
    assert elapsed < 6, f"300 requests at 1 s latency took {elapsed:.1f} s"
    assert len(fake.requests) == 300


def test_streamed_tool_calls_arrive_as_index_deltas_the_sdk_reads(server, client):
    server.script(FakeOpenAIServer.tool_calls(("a", {"x": "a long value"}, "id_a"), ("b", {}, "")))

    chunks = list(client.chat.completions.create(model="m", messages=HELLO, stream=True))

    parts = [p for c in chunks if c.choices for p in c.choices[0].delta.tool_calls or ()]
    assert [(p.index, p.id, p.function.name) for p in parts if p.id] == [
        (0, "id_a", "a"),
        (1, parts[1].id, "b"),
    ]
    arguments = {i: "".join(p.function.arguments for p in parts if p.index == i) for i in (0, 1)}
    assert arguments == {0: '{"x": "a long value"}', 1: "{}"}
    assert [p.index for p in parts if not p.id][:2] == [0, 1]  # fragments interleave
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("failure", ["drop", "error"])
def test_a_broken_stream_stops_after_the_scripted_deltas(server, client, failure):
    server.script(FakeOpenAIServer.broken_stream("a b c d", after_deltas=2, failure=failure))
    seen = []
    stream = client.chat.completions.create(model="m", messages=HELLO, stream=True)

    with pytest.raises(openai.APIError):  # APIConnectionError for a dropped connection
        seen.extend(chunk.choices[0].delta.content for chunk in stream)

    assert "".join(filter(None, seen)) == "a b"
    assert (server.streams[0].sent_deltas, server.streams[0].total_deltas) == (2, 4)


def test_runs_standalone_from_the_command_line():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(port)]
    command += ["--first-token-delay-s", "0.01", "--token-gap-s", "0", "--reply-words", "3"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert process.stdout is not None
        assert f"http://127.0.0.1:{port}/v1" in process.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as response:
            assert json.load(response)["object"] == "list"
        sdk = openai_client(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout_s=5)
        with sdk:
            answer = OpenAIChatModel(sdk, model="m").complete([ChatMessage(PromptRole.USER, "hi")])
        assert answer.content == "w1 w2 w3"
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
