"""StreamedCompletion on chunks, and whole_completion on answers, as OpenAI-compatible servers
send them, quirks included."""

from __future__ import annotations

import pytest

from chat_service.adapters.llm.openai_stream import StreamedCompletion, whole_completion
from chat_service.core.errors import ModelUnavailable
from chat_service.ports.chat_model import Completion, ToolCall, Usage


def _chunk(delta=None, *, finish=None, usage=None, model="m-2025"):
    chunk = {"model": model, "choices": []}
    if delta is not None or finish is not None:
        chunk["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def _assemble(*chunks):
    answer = StreamedCompletion(model="m")
    texts = [answer.add(c) for c in chunks]
    return answer, [t for t in texts if t]


def test_text_usage_and_the_model_the_server_named():
    answer, texts = _assemble(
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "Hi"}),
        _chunk({"content": " there"}),
        _chunk(finish="stop"),
        _chunk(usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}),
    )

    assert texts == ["Hi", " there"]
    assert answer.ended
    assert answer.completion("openai:m") == Completion(
        "Hi there", (), Usage(5, 2), "m-2025", "openai"
    )


def test_usage_in_the_last_choice_chunk_does_not_end_the_stream_early():
    answer, _ = _assemble(
        _chunk({"content": "x"}), _chunk(finish="stop", usage={"prompt_tokens": 1})
    )

    assert not answer.ended
    assert answer.completion("p").usage == Usage(1, 0)


def test_tool_calls_without_index_repeated_names_and_no_arguments():
    answer, texts = _assemble(
        _chunk({"tool_calls": [{"id": "a", "function": {"name": "clock", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "get_weather"}}]}),
        _chunk(
            {"tool_calls": [{"index": 1, "function": {"name": "get_weather", "arguments": '{"l'}}]}
        ),
        _chunk(
            {"tool_calls": [{"index": 1, "id": None, "function": {"arguments": 'ocation": 1}'}}]}
        ),
        _chunk(finish="tool_calls"),
    )

    assert texts == []
    assert answer.completion("p").tool_calls == (
        ToolCall("a", "clock", "{}"),
        ToolCall("b", "get_weather", '{"location": 1}'),
    )


def test_a_refusal_streams_as_text():
    answer, texts = _assemble(_chunk({"refusal": "I can't"}), _chunk(finish="stop"))

    assert texts == ["I can't"]
    assert answer.completion("p").content == "I can't"


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ((), "without a choice"),
        ((_chunk(usage={"prompt_tokens": 1}),), "without a choice"),
        ((_chunk({"content": "cut"}),), "ended its stream before the answer"),
    ],
)
def test_an_incomplete_stream_is_unavailable(chunks, message):
    answer, _ = _assemble(*chunks)

    with pytest.raises(ModelUnavailable, match=message):
        answer.completion("openai:m")


def test_junk_is_ignored():
    answer, texts = _assemble(
        "not an object", {"choices": "no"}, {"choices": [None]}, _chunk({"content": 3})
    )

    assert texts == []
    assert not answer.ended


def _answer(message, *, usage=None, model="m-2025"):
    answer = {"id": "c1", "object": "chat.completion", "model": model}
    answer["choices"] = [{"index": 0, "message": message, "finish_reason": "stop"}]
    if usage is not None:
        answer["usage"] = usage
    return answer


def test_a_whole_answer_gives_its_text_usage_and_the_model_that_answered():
    answer = _answer(
        {"role": "assistant", "content": "Hi"},
        usage={"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    )
    assert whole_completion(answer, model="m", provider="openai:m") == Completion(
        content="Hi", usage=Usage(12, 3), model="m-2025", provider="openai"
    )


def test_a_whole_answer_keeps_function_calls_only_and_fills_what_a_server_left_out():
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "weather", "arguments": ""}},
            {"id": "b", "type": "custom", "custom": {"name": "grammar", "input": "x"}},
            {"id": "c", "function": {"name": "time", "arguments": '{"tz": "UTC"}'}},
            "not a call",
        ],
    }
    completion = whole_completion(_answer(message, model=""), model="m", provider="openai:m")
    assert completion.tool_calls == (
        ToolCall(id="a", name="weather", arguments="{}"),
        ToolCall(id="c", name="time", arguments='{"tz": "UTC"}'),
    )
    assert (completion.content, completion.usage, completion.model) == ("", Usage(), "m")


def test_a_refusal_is_the_answers_text():
    answer = _answer({"role": "assistant", "content": None, "refusal": "I can't help with that."})
    assert whole_completion(answer, model="m", provider="p").content == "I can't help with that."


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("<html>busy</html>", "unusable response"),
        ({"choices": "none"}, "unusable response"),
        ({"choices": []}, "without a choice"),
        ({"object": "chat.completion"}, "without a choice"),
        ({"choices": [{"index": 0, "message": "hi"}]}, "without a choice"),
    ],
)
def test_an_answer_without_a_usable_choice_is_the_provider_unavailable(answer, says):
    with pytest.raises(ModelUnavailable, match=says):
        whole_completion(answer, model="m", provider="openai:m")
