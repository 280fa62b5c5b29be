"""Contract: ScriptedChatModel, OpenAIChatModel and AnthropicChatModel (on their fake servers)
answer alike.

Each test scripts a Completion on a backend and checks what the model returns, so the
scripted fake used by the core's tests cannot drift from the real adapter's behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest

from chat_service.adapters.llm.anthropic_model import AnthropicChatModel, anthropic_client
from chat_service.adapters.llm.openai_model import OpenAIChatModel, openai_client
from chat_service.ports.chat_model import (
    ChatMessage,
    ChatModel,
    Completion,
    PromptRole,
    ToolCall,
    Usage,
)
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.anthropic_wire import MessageReply, ToolUse
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.openai_wire import FakeToolCall, Reply
from tests.fakes.scripted_model import ScriptedChatModel

MODEL = "gpt-test"


@dataclass
class Backend:
    model: ChatModel
    script: Callable[[Completion], None]


def _scripted() -> Iterator[Backend]:
    model = ScriptedChatModel()
    yield Backend(model, model.script)


def _openai() -> Iterator[Backend]:
    with FakeOpenAIServer() as server:
        client = openai_client(api_key="sk-test", base_url=server.url, timeout_s=5)
        with client:
            yield Backend(
                OpenAIChatModel(client, model=MODEL), lambda c: server.script(_as_reply(c))
            )


def _anthropic() -> Iterator[Backend]:
    def echo(request):
        users = [m["content"] for m in request["messages"] if isinstance(m["content"], str)]
        return f"echo: {users[-1] if users else ''}"

    with FakeAnthropicServer(responder=echo) as server:
        client = anthropic_client(api_key="sk-ant-test", base_url=server.url, timeout_s=5)
        with client:
            yield Backend(
                AnthropicChatModel(client, model=MODEL),
                lambda c: server.script(_as_message(c)),
            )


def _as_message(completion: Completion) -> MessageReply:
    return MessageReply(
        text=completion.content,
        tool_uses=tuple(
            ToolUse(c.name, json.loads(c.arguments), c.id) for c in completion.tool_calls
        ),
        usage=(completion.usage.input_tokens, completion.usage.output_tokens),
    )


def _as_reply(completion: Completion) -> Reply:
    return Reply(
        content=completion.content or None,
        tool_calls=tuple(FakeToolCall(c.name, c.arguments, c.id) for c in completion.tool_calls),
        usage=(completion.usage.input_tokens, completion.usage.output_tokens),
    )


@pytest.fixture(params=[_scripted, _openai, _anthropic], ids=["scripted", "openai", "anthropic"])
def backend(request):
    yield from request.param()


def _ask(model: ChatModel, text: str) -> Completion:
    completion = model.complete(
        [ChatMessage(PromptRole.SYSTEM, "sys"), ChatMessage(PromptRole.USER, text)]
    )
    # Each adapter names its provider; the scripted fake answers what it was given.
    assert completion.provider in ("", *model.name.split(":")[:1])
    return replace(completion, provider="")


def test_text_reply(backend):
    expected = Completion("Paris is sunny.", (), Usage(20, 4), MODEL)
    backend.script(expected)

    assert _ask(backend.model, "Weather?") == expected


def test_tool_call(backend):
    call = ToolCall("call_1", "get_weather", '{"location": "Paris"}')
    expected = Completion("", (call,), Usage(30, 9), MODEL)
    backend.script(expected)

    assert _ask(backend.model, "Weather in Paris?") == expected


def test_parallel_tool_calls(backend):
    calls = (ToolCall("a", "get_weather", '{"location": "Oslo"}'), ToolCall("b", "clock", "{}"))
    expected = Completion("", calls, Usage(30, 12), MODEL)
    backend.script(expected)

    assert _ask(backend.model, "Weather and time?") == expected


def test_replies_come_in_script_order(backend):
    first = Completion("one", (), Usage(1, 1), MODEL)
    second = Completion("two", (), Usage(2, 2), MODEL)
    backend.script(first)
    backend.script(second)

    assert [_ask(backend.model, "q") for _ in range(2)] == [first, second]


def test_unscripted_call_echoes_the_last_user_message(backend):
    assert _ask(backend.model, "ping").content == "echo: ping"
