"""Cache keys: reordering object keys never changes a key; changing anything semantic does."""

from __future__ import annotations

import random
import re
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_service.core.cache.keys import (
    AnswerBasis,
    Json,
    answer_key,
    canonical_json,
    tool_result_key,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant", "tool"]), "content": st.text()}
    ),
    min_size=1,
    max_size=4,
)
tools = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.text(min_size=1, max_size=8),
            "parameters": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        }
    ),
    max_size=3,
)
bases = st.builds(
    AnswerBasis,
    provider=st.sampled_from(["openai", "anthropic", "offline"]),
    model=st.text(max_size=10),
    prompt_version=st.text(max_size=4),
    messages=messages,
    sampling=st.dictionaries(
        st.sampled_from(["max_tokens", "temperature", "top_p", "seed"]), scalars, max_size=4
    ),
    tools=tools,
)


def shuffled(value, rng: random.Random):
    """The same JSON value with every object's keys in another insertion order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


def reordered(basis: AnswerBasis, seed: int) -> AnswerBasis:
    rng = random.Random(seed)
    return AnswerBasis(
        provider=basis.provider,
        model=basis.model,
        prompt_version=basis.prompt_version,
        messages=shuffled(list(basis.messages), rng),
        sampling=shuffled(dict(basis.sampling), rng),
        tools=shuffled(list(basis.tools), rng),
    )


@given(basis=bases, owner=st.text(max_size=8), seed=st.integers())
def test_reordering_object_keys_gives_the_same_key(basis, owner, seed):
    again = reordered(basis, seed)
    assert answer_key("reply", owner=owner, basis=again) == answer_key(
        "reply", owner=owner, basis=basis
    )


def _changes(basis: AnswerBasis, data) -> list[AnswerBasis]:
    """One variant of `basis` per semantic field, each differing in that field only."""
    first = dict(basis.messages[0])
    sampling = dict(basis.sampling)
    sampling["max_tokens"] = data.draw(
        st.integers().filter(lambda n: n != basis.sampling.get("max_tokens"))
    )
    tool = {"name": "extra_tool", "parameters": {}}

    def with_(**changes):
        fields = {
            "provider": basis.provider,
            "model": basis.model,
            "prompt_version": basis.prompt_version,
            "messages": basis.messages,
            "sampling": basis.sampling,
            "tools": basis.tools,
        }
        return AnswerBasis(**{**fields, **changes})

    return [
        with_(provider=basis.provider + "x"),
        with_(model=basis.model + "x"),
        with_(prompt_version=basis.prompt_version + "x"),
        with_(sampling=sampling),
        with_(tools=[*basis.tools, tool]),
        with_(messages=[{**first, "content": f"{first['content']}x"}, *basis.messages[1:]]),
        with_(messages=[*basis.messages, {"role": "user", "content": ""}]),
        with_(messages=[*reversed(basis.messages), {"role": "user", "content": "x"}]),
    ]


@given(basis=bases, owner=st.text(max_size=8), data=st.data())
def test_changing_any_semantic_field_gives_another_key(basis, owner, data):
    key = answer_key("reply", owner=owner, basis=basis)
    for variant in _changes(basis, data):
        assert answer_key("reply", owner=owner, basis=variant) != key, variant


@given(basis=bases, owner=st.text(max_size=8), other=st.text(max_size=8))
def test_another_owner_gets_another_key(basis, owner, other):
    if other != owner:
        assert answer_key("reply", owner=other, basis=basis) != answer_key(
            "reply", owner=owner, basis=basis
        )


@given(basis=bases)
def test_the_kind_of_answer_is_part_of_the_key(basis):
    assert answer_key("title", owner="o", basis=basis) != answer_key(
        "reply", owner="o", basis=basis
    )


def test_keys_are_versioned_sha256_and_hold_no_plain_text():
    basis = AnswerBasis("openai", "gpt-4o-mini", "1", [{"role": "user", "content": "secret"}])
    key = answer_key("reply", owner="alice", basis=basis)
    assert re.fullmatch(r"acai:cache:v1:reply:\{[0-9a-f]{64}\}", key)
    assert "secret" not in key
    assert "alice" not in key


def test_integral_floats_equal_integers_but_booleans_do_not():
    assert canonical_json({"t": 1.0}) == canonical_json({"t": 1})
    assert canonical_json({"t": True}) != canonical_json({"t": 1})
    assert canonical_json({"t": 0.5}) != canonical_json({"t": 0})


def test_any_mapping_and_sequence_encode_as_dicts_and_lists_do():
    plain: Json = {"m": [{"role": "user", "n": 2.0}, ("a", True)], "s": "x"}
    other: Json = MappingProxyType(
        {"s": "x", "m": (MappingProxyType({"n": 2, "role": "user"}), ["a", True])}
    )
    assert canonical_json(other) == canonical_json(plain)
    assert canonical_json(plain) == b'{"m":[{"n":2,"role":"user"},["a",true]],"s":"x"}'


def test_text_is_kept_as_utf8_not_escaped():
    assert canonical_json({"b": "é", "a": [1, None]}) == '{"a":[1,null],"b":"é"}'.encode()


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": float("inf")}])
def test_non_finite_numbers_are_refused(bad):
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json(bad)


@pytest.mark.parametrize("bad", [{1: "x"}, {"x": object()}, {"x": b"bytes"}])
def test_non_json_values_are_refused(bad):
    with pytest.raises(TypeError):
        canonical_json(bad)


ROME = {"city": "Rome", "units": "metric"}


def tool_key(tool="get_weather", *, owner="o", arguments=None, day="2026-03-01"):
    return tool_result_key(tool, owner=owner, arguments=arguments or ROME, day=day)


def test_tool_result_keys_depend_on_owner_tool_arguments_and_day_not_key_order():
    assert tool_key() == tool_key(arguments={"units": "metric", "city": "Rome"})
    assert tool_key() != tool_key(owner="p")
    assert tool_key() != tool_key("get_public_holidays")
    assert tool_key() != tool_key(arguments={"city": "Oslo", "units": "metric"})
    assert tool_key() != tool_key(day="2026-03-02")
