"""ToolRegistry and ToolRunner: names, schema validation, parallel ordered runs, failures, caps."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import pytest
from jsonschema.exceptions import SchemaError

from chat_service.ports.chat_model import ToolCall, ToolSpec
from tools.registry import DuplicateToolName, InvalidToolArguments, ToolError, ToolRegistry
from tools.runner import TRUNCATION_MARK, ToolRunner


class EchoTool:
    description = "Echoes its text."
    parameters: ClassVar[dict] = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "times": {"type": "integer", "minimum": 1}},
        "required": ["text"],
        "additionalProperties": False,
    }

    def __init__(self, name="echo", *, barrier=None, error=None):
        self.name = name
        self.barrier = barrier
        self.error = error

    def run(self, arguments):
        if self.barrier is not None:
            self.barrier.wait()
        if self.error is not None:
            raise self.error
        return arguments["text"] * arguments.get("times", 1)


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


def _call(name="echo", arguments='{"text": "hi"}', call_id="c1"):
    return ToolCall(call_id, name, arguments)


def test_duplicate_names_are_an_error():
    with pytest.raises(DuplicateToolName, match="echo"):
        ToolRegistry([EchoTool(), EchoTool()])


def test_names_must_be_what_providers_accept():
    with pytest.raises(ValueError, match="must be 1-64 characters"):
        ToolRegistry([EchoTool("has space")])


def test_an_invalid_schema_is_refused_at_registration():
    class Broken(EchoTool):
        parameters: ClassVar[dict] = {"type": "objekt"}

    with pytest.raises(SchemaError, match="objekt"):
        ToolRegistry([Broken()])


def test_specs_keep_registration_order():
    registry = ToolRegistry([EchoTool("b"), EchoTool("a")])
    assert [s.name for s in registry.specs()] == ["b", "a"]
    assert registry.specs()[0] == ToolSpec("b", EchoTool.description, EchoTool.parameters)


def test_the_registry_is_immutable_and_with_tools_returns_a_new_one():
    registry = ToolRegistry([EchoTool("a")])
    bigger = registry.with_tools([EchoTool("b")])
    assert registry.names == ("a",)
    assert bigger.names == ("a", "b")
    with pytest.raises(DuplicateToolName):
        bigger.with_tools([EchoTool("a")])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        ("{}", "'text' is a required property"),
        ('{"text": 3}', "text: 3 is not of type 'string'"),
        ('{"text": "a", "times": 0}', "times: 0 is less than the minimum of 1"),
        ('{"text": "a", "rm": "-rf"}', "Additional properties are not allowed"),
    ],
)
def test_arguments_are_validated_before_the_tool_runs(arguments, message):
    tool = EchoTool(error=AssertionError("must not run"))
    with pytest.raises(InvalidToolArguments, match=message.replace("(", r"\(")):
        ToolRegistry([tool]).run("echo", arguments)


def test_unknown_tool_is_a_tool_error():
    with pytest.raises(ToolError, match="no tool named 'nope'"):
        ToolRegistry([EchoTool()]).run("nope", "{}")


def test_run_all_runs_calls_concurrently_and_keeps_the_models_order(pool):
    # Three calls must all be in flight at once for the barrier to open.
    barrier = threading.Barrier(3, timeout=5)
    registry = ToolRegistry([EchoTool("a", barrier=barrier), EchoTool("b", barrier=barrier)])
    calls = [
        _call("b", '{"text": "1"}', "x"),
        _call("a", '{"text": "2"}', "y"),
        _call("b", '{"text": "3"}', "z"),
    ]
    results = ToolRunner(registry, executor=pool).run_all(calls)
    assert [(r.call.id, r.content, r.ok) for r in results] == [
        ("x", "1", True),
        ("y", "2", True),
        ("z", "3", True),
    ]


def test_failures_become_error_results_for_the_model(pool, caplog):
    registry = ToolRegistry(
        [
            EchoTool("clean", error=ToolError("the upstream is down")),
            EchoTool("crash", error=RuntimeError("secret internal detail")),
            EchoTool("ok"),
        ]
    )
    results = ToolRunner(registry, executor=pool).run_all(
        [_call("clean"), _call("crash"), _call("ok", '{"text": 1}'), _call("missing")]
    )
    errors = [json.loads(r.content)["error"] for r in results]
    assert errors[0] == "the upstream is down"
    assert errors[1] == "the tool failed unexpectedly"
    assert "secret" not in results[1].content
    assert errors[2].startswith("invalid arguments: text: 1 is not of type 'string'")
    assert errors[3] == "there is no tool named 'missing'"
    assert not any(r.ok for r in results)


def test_results_are_capped(pool):
    runner = ToolRunner(ToolRegistry([EchoTool()]), executor=pool, max_result_chars=50)
    [result] = runner.run_all([_call(arguments='{"text": "x", "times": 500}')])
    assert len(result.content) == 50
    assert result.content.endswith(TRUNCATION_MARK)


def test_a_tool_that_does_not_answer_in_time_becomes_an_error(pool):
    release = threading.Event()

    class Slow(EchoTool):
        def run(self, arguments):
            release.wait(5)
            return "late"

    runner = ToolRunner(ToolRegistry([Slow()]), executor=pool, timeout_s=0.05)
    try:
        [result] = runner.run_all([_call()])
    finally:
        release.set()
    assert json.loads(result.content) == {"error": "the tool did not answer within 0.05 s"}
