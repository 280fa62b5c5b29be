"""Fuzzing the tools' argument validation: whatever arguments a model writes, each built-in
tool answers through the runner with a result; invalid arguments are a clean error result,
and no exception escapes a tool other than its own ToolError ("failed unexpectedly")."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import jsonschema
import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chat_service.composition.toolbox import build_tool_registry
from chat_service.config import Settings
from chat_service.core.breakers import BreakerBoard
from chat_service.core.models import ToolCall
from tools.runner import ToolRunner

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
UNEXPECTED = json.dumps({"error": "the tool failed unexpectedly"})

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def runner(fake_weather):
    settings = Settings(
        open_meteo_geocoding_url=fake_weather.url,
        open_meteo_forecast_url=fake_weather.url,
        calendar_ics_url=f"{fake_weather.url}/calendar.ics",
        weather_timeout_s=5.0,
    )
    with requests.Session() as http, ThreadPoolExecutor(max_workers=4) as pool:
        registry = build_tool_registry(
            settings,
            http=http,
            breakers=BreakerBoard(max_failures=10_000, cooldown_s=1.0),
            clock=lambda: NOW,
            load_plugins=False,
        )
        yield ToolRunner(registry, executor=pool, timeout_s=10.0)


# Plausible strings a model writes, valid or not for the tool that gets them.
HINTS = st.sampled_from(
    [
        "Europe/Madrid",
        "UTC",
        "Mars/Olympus",
        "friday",
        "tomorrow",
        "2026-02-30",
        "2026-12-31",
        "0001-01-01",
        "9999-12-31",
        "ES",
        "Spain",
        "XX",
        "CT",
        "Barcelona",
        "Paris, France",
        " ",
    ]
)


def _value(schema) -> st.SearchStrategy[object]:
    """Values of the property's type, a little past its bounds too, or any JSON at all."""
    if schema.get("type") == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        typed: st.SearchStrategy[object] = st.one_of(
            st.integers(low, high), st.sampled_from([low, high, low - 1, high + 1])
        )
    elif schema.get("format") == "date":
        edges = st.sampled_from(["0001-01-01", "9999-12-31"])
        typed = st.one_of(edges, st.dates().map(lambda d: d.isoformat()), HINTS)
    elif schema.get("type") == "string":
        typed = st.one_of(HINTS, st.text(max_size=20))
    else:
        typed = json_values
    return st.one_of(typed, typed, typed, json_values)


def _arguments(runner: ToolRunner):
    """(tool spec, arguments dict) pairs: the schema's keys, each present or not, with values
    mostly of its type, sometimes of any JSON type; sometimes a key the schema does not know."""

    def for_spec(spec):
        properties = spec.parameters.get("properties", {})
        chosen = st.fixed_dictionaries(
            {}, optional={name: _value(schema) for name, schema in properties.items()}
        )
        extra = st.dictionaries(st.text(max_size=8), json_values, max_size=1)
        mixed = st.one_of(
            chosen,
            chosen,
            chosen,
            st.tuples(chosen, extra).map(lambda pair: {**pair[1], **pair[0]}),
        )
        return st.tuples(st.just(spec), mixed)

    return st.sampled_from(runner.specs()).flatmap(for_spec)


def _run(runner: ToolRunner, name: str, arguments: str):
    (result,) = runner.run_all([ToolCall("fuzz", name, arguments)])
    return result


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_arguments_dict_gets_a_result_and_invalid_ones_a_clean_error(runner, data):
    spec, arguments = data.draw(_arguments(runner))
    result = _run(runner, spec.name, json.dumps(arguments))
    assert result.content != UNEXPECTED, (spec.name, arguments)
    valid = jsonschema.Draft202012Validator(spec.parameters).is_valid(arguments)
    event(f"{spec.name}: {'valid' if valid else 'invalid'}, {'ok' if result.ok else 'error'}")
    if not valid:
        assert not result.ok
        error = json.loads(result.content)
        assert list(error) == ["error"]
        assert error["error"].startswith("invalid arguments: ")
    elif not result.ok:
        assert list(json.loads(result.content)) == ["error"]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), text=st.one_of(st.text(max_size=40), json_values.map(json.dumps)))
def test_arguments_that_are_not_a_json_object_are_a_clean_error(runner, data, text):
    name = data.draw(st.sampled_from([spec.name for spec in runner.specs()]))
    try:
        is_object = isinstance(json.loads(text or "{}"), dict)
    except ValueError:
        is_object = False
    result = _run(runner, name, text)
    assert result.content != UNEXPECTED, (name, text)
    if not is_object:
        assert not result.ok
        assert json.loads(result.content)["error"] in (
            "arguments are not valid JSON",
            "arguments must be a JSON object",
        )
