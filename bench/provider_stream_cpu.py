"""Client CPU of one OpenAI call, streamed or whole: `python -m bench.provider_stream_cpu`.

Calls `OpenAIChatModel` against an in-process fake OpenAI server (instant, answering
`--words` words) and reads the calling thread's CPU time (`time.thread_time`, so the fake
server's threads are not counted) around each call; prints one JSON object with the median
microseconds per call. Variants: the whole answer (`client.post`, what unary turns use), the
streamed answer as the adapter does it (`client.post(..., stream=True)` yielding each chunk's
JSON), and, for comparison, a bare reader of typed `ChatCompletionChunk`s through
`client.post` and through `chat.completions.create` (which validates every message first).
`connections` counts the connections the fake server saw in all (the client's pool reuses
them when each stream is read to its end).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client, wire_message
from chat_service.ports.chat_model import ChatMessage, PromptRole
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.openai_wire import words_responder


def _history(messages: int) -> list[ChatMessage]:
    roles = (PromptRole.USER, PromptRole.ASSISTANT)
    turns = [
        ChatMessage(roles[i % 2], f"message {i} " + "lorem ipsum " * 20) for i in range(messages)
    ]
    return [ChatMessage(PromptRole.SYSTEM, "Be brief."), *turns, ChatMessage(PromptRole.USER, "q")]


def _cpu_us(call: Callable[[], object], *, calls: int, warmup: int) -> float:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(calls):
        started = time.thread_time()
        call()
        samples.append(time.thread_time() - started)
    return round(statistics.median(samples) * 1e6, 1)


def _typed_text(stream: openai.Stream[ChatCompletionChunk]) -> str:
    # The least a consumer of typed chunks does: their text (no tool calls, no usage).
    with stream:
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the three variants and prints their median CPU per call."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--words", type=int, default=60, help="words in each answer")
    parser.add_argument("--messages", type=int, default=10, help="history messages per request")
    args = parser.parse_args(argv)
    prompt = _history(args.messages)
    with FakeOpenAIServer(responder=words_responder(args.words)) as server:
        client = openai_client(api_key="sk-bench", base_url=server.url, timeout_s=10)
        model = OpenAIChatModel(client, model="bench-model")

        def typed_post() -> object:
            stream = client.post(
                "/chat/completions",
                body={
                    "model": "bench-model",
                    "messages": [wire_message(m) for m in prompt],
                    "max_tokens": 1024,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                },
                cast_to=ChatCompletion,
                stream=True,
                stream_cls=openai.Stream[ChatCompletionChunk],
            )
            return _typed_text(stream)

        def typed_create() -> object:
            stream = client.chat.completions.create(
                model="bench-model",
                messages=[wire_message(m) for m in prompt],
                max_tokens=1024,
                stream=True,
                stream_options={"include_usage": True},
            )
            return _typed_text(stream)

        def run(call: Callable[[], object]) -> float:
            return _cpu_us(call, calls=args.calls, warmup=args.warmup)

        with client:
            result = {
                "words": args.words,
                "messages": len(prompt),
                "calls": args.calls,
                "whole_us": run(lambda: model.complete(prompt)),
                "streamed_us": run(lambda: model.complete(prompt, on_text=lambda text: None)),
                "streamed_typed_post_us": run(typed_post),
                "streamed_typed_create_us": run(typed_create),
                "connections": server.connections,
            }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
