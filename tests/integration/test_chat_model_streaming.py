"""Contract: ScriptedChatModel, OpenAIChatModel and AnthropicChatModel (on their fake servers)
stream alike.

With `on_text`, each model passes its answer's text on in several deltas, in order, that
concatenate to the returned content; returns the same Completion as without `on_text`; fails
with ModelUnavailable when its stream breaks; and stops reading at once when `on_text`
raises, letting the exception through unchanged.
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
    ModelUnavailable,
    PromptRole,
    ToolCall,
    Usage,
)
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.anthropic_wire import MessageReply, ToolUse
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.openai_wire import FakeToolCall, Reply
from tests.fakes.scripted_model import ScriptedChatModel, Streamed
from tests.fakes.sse_stream import Failure, Pacing, StreamRecord

MODEL = "gpt-test"
LONG = " ".join(f"word{i}" for i in range(40))


@dataclass
class Backend:
    model: ChatModel
    script: Callable[[Completion], None]
    script_broken: Callable[[str, int, Failure], None]
    pace: Callable[[float], None]
    last_stream: Callable[[], StreamRecord | None]


def _scripted() -> Iterator[Backend]:
    model = ScriptedChatModel()
    yield Backend(
        model,
        model.script,
        lambda text, after, failure: model.script(Streamed(text, fail_after=after)),
        lambda gap_s: None,
        lambda: None,
    )


def _openai() -> Iterator[Backend]:
    with FakeOpenAIServer() as server:
        client = openai_client(api_key="sk-test", base_url=server.url, timeout_s=5)

        def pace(gap_s: float) -> None:
            server.pacing = Pacing(token_gap_s=gap_s)

        with client:
            yield Backend(
                OpenAIChatModel(client, model=MODEL),
                lambda c: server.script(_as_reply(c)),
                lambda text, after, failure: server.script(
                    FakeOpenAIServer.broken_stream(text, after_deltas=after, failure=failure)
                ),
                pace,
                lambda: server.streams[-1],
            )


def _anthropic() -> Iterator[Backend]:
    with FakeAnthropicServer() as server:
        client = anthropic_client(api_key="sk-ant-test", base_url=server.url, timeout_s=5)

        def pace(gap_s: float) -> None:
            server.pacing = Pacing(token_gap_s=gap_s)

        with client:
            yield Backend(
                AnthropicChatModel(client, model=MODEL),
                lambda c: server.script(_as_message(c)),
                lambda text, after, failure: server.script(
                    FakeAnthropicServer.broken_stream(text, after_deltas=after, failure=failure)
                ),
                pace,
                lambda: server.streams[-1],
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


PROMPT = [ChatMessage(PromptRole.SYSTEM, "sys"), ChatMessage(PromptRole.USER, "q")]


class Cancelled(Exception):
    """What a cancelled turn's sink raises."""


def _stream(model: ChatModel) -> tuple[Completion, list[str]]:
    deltas: list[str] = []
    return _answer(model.complete(PROMPT, on_text=deltas.append)), deltas


def _answer(completion: Completion) -> Completion:
    """The completion as scripted: the adapters also name their provider, a script does not."""
    return replace(completion, provider="")


def test_deltas_come_in_order_and_make_up_the_content(backend):
    expected = Completion("Paris is sunny, 21 °C, light wind.", (), Usage(20, 8), MODEL)
    backend.script(expected)

    completion, deltas = _stream(backend.model)

    assert completion == expected
    assert len(deltas) > 1
    assert "".join(deltas) == expected.content
    assert all(deltas)


def test_a_streamed_answer_equals_the_whole_one(backend):
    expected = Completion("one two three", (), Usage(5, 3), MODEL)
    backend.script(expected)
    backend.script(expected)

    assert _stream(backend.model)[0] == _answer(backend.model.complete(PROMPT)) == expected


def test_several_tool_calls_are_assembled_from_their_fragments(backend):
    calls = (
        ToolCall("call_a", "get_weather", json.dumps({"location": "Oslo, Norway", "days": 3})),
        ToolCall("call_b", "clock", json.dumps({"timezone": "Europe/Oslo"})),
        ToolCall("call_c", "holidays", "{}"),
    )
    expected = Completion("", calls, Usage(30, 12), MODEL)
    backend.script(expected)

    completion, deltas = _stream(backend.model)

    assert completion == expected
    assert deltas == []


def test_text_before_a_tool_call_is_streamed(backend):
    call = ToolCall("call_1", "get_weather", json.dumps({"location": "Paris"}))
    expected = Completion("Let me check the weather.", (call,), Usage(30, 9), MODEL)
    backend.script(expected)

    completion, deltas = _stream(backend.model)

    assert completion == expected
    assert "".join(deltas) == expected.content


def test_usage_is_reported(backend):
    backend.script(Completion("hi there", (), Usage(123, 45), MODEL))

    assert _stream(backend.model)[0].usage == Usage(123, 45)


@pytest.mark.parametrize("failure", ["drop", "error"])
def test_a_stream_that_breaks_is_unavailable_after_its_deltas(backend, failure):
    backend.script_broken("one two three four five", 2, failure)
    deltas: list[str] = []

    with pytest.raises(ModelUnavailable):
        backend.model.complete(PROMPT, on_text=deltas.append)

    assert deltas == ["one", " two"]


def test_an_exception_from_on_text_stops_the_stream_and_propagates(backend):
    backend.pace(0.05)  # the provider is still writing when the sink gives up
    backend.script(Completion(LONG, (), Usage(1, 40), MODEL))
    cancelled = Cancelled()
    deltas: list[str] = []

    def sink(text: str) -> None:
        deltas.append(text)
        if len(deltas) == 3:
            raise cancelled

    with pytest.raises(Cancelled) as caught:
        backend.model.complete(PROMPT, on_text=sink)

    assert caught.value is cancelled
    assert len(deltas) == 3  # not one delta read after the exception
    record = backend.last_stream()
    if record is not None:
        assert record.finished.wait(5)
        assert record.client_gone  # the connection was closed, not drained
        assert record.sent_deltas < record.total_deltas
