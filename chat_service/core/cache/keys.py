"""Cache keys: SHA-256 over a canonical encoding of everything that determines an answer.

A key reads `acai:cache:v1:<kind>:{<sha256 hex>}`; the braces make the digest its hash tag.

The canonical encoding is JSON with sorted object keys, no insignificant whitespace, UTF-8
text as is, integral floats written as integers (`1.0` and `1` are the same temperature) and
other floats in their shortest round-trip form.
Object key order never matters; list order always does (messages, tools).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import orjson

# Bumped whenever the encoding or the meaning of a field changes: old entries stop matching.
KEY_VERSION = 1
KEY_PREFIX = "acai:cache"

Json = None | bool | int | float | str | Sequence["Json"] | Mapping[str, "Json"]


@dataclass(frozen=True, slots=True)
class AnswerBasis:
    """Everything besides the owner that determines a model's answer, as plain data.

    `provider` and `model` name who answers; `sampling` holds every generation parameter sent
    (max_tokens, temperature, ...); `tools` the tool schemas offered, in the order offered;
    `prompt_version` the version of the built-in prompts; `messages` the prompt as sent, in
    order, each a mapping such as {"role": "user", "content": "..."} (tool calls included).
    """

    provider: str
    model: str
    prompt_version: str
    messages: Sequence[Mapping[str, Json]]
    sampling: Mapping[str, Json] = field(default_factory=dict)
    tools: Sequence[Mapping[str, Json]] = ()

    def as_json(self) -> dict[str, Json]:
        """Returns the basis as one JSON-able mapping."""
        return {
            "provider": self.provider,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "sampling": self.sampling,
            "tools": self.tools,
            "messages": self.messages,
        }


def canonical_json(value: Json) -> bytes:
    """Returns the canonical UTF-8 JSON encoding of `value`.

    Raises TypeError for values JSON cannot hold (and non-string object keys), ValueError for
    NaN and infinities.
    """
    normalised = _normalised(value)
    try:
        # orjson writes what json.dumps below does for everything but floats (it spells
        # 1e+16 as 1e16), at a tenth of the CPU; a key covers a whole prompt.
        return orjson.dumps(normalised, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits (lone surrogates fail below as well)
        return json.dumps(
            normalised, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()


def answer_key(kind: str, *, owner: str, basis: AnswerBasis, generation: int = 0) -> str:
    """Returns the cache key of a model answer ("reply", "title") for `owner` at the owner's
    cache `generation` (a deletion bumps it, so every earlier answer is out of reach)."""
    payload: dict[str, Json] = {"owner": owner, "basis": basis.as_json()}
    if generation:  # generation 0 keeps the keys written before generations existed
        payload["generation"] = generation
    return _key(kind, payload)


def tool_result_key(tool_name: str, *, owner: str, arguments: Mapping[str, Json], day: str) -> str:
    """Returns the cache key of a tool's result for these arguments, scoped to `owner` and
    to `day` (an ISO date: tools read "today" when the arguments leave the date out)."""
    payload: dict[str, Json] = {
        "owner": owner,
        "tool": tool_name,
        "arguments": arguments,
        "day": day,
    }
    return _key("tool", payload)


def _key(kind: str, payload: Mapping[str, Json]) -> str:
    encoded = canonical_json({"v": KEY_VERSION, "kind": kind, **payload})
    # The digest in braces is the key's hash tag: whatever the cache keeps beside the value
    # (its single-flight lock, `<key>:lock`) lands in the same Redis Cluster slot.
    return f"{KEY_PREFIX}:v{KEY_VERSION}:{kind}:{{{hashlib.sha256(encoded).hexdigest()}}}"


def _normalised(value: Json) -> Json:
    # Exact types first: a key covers the whole prompt, and the ABC checks below cost ~10x.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        assert isinstance(value, dict)
        if all(type(key) is str for key in value):
            return {key: _normalised(item) for key, item in value.items()}
    elif kind is list or kind is tuple:
        assert isinstance(value, list | tuple)
        return [_normalised(item) for item in value]
    if isinstance(value, str | int):  # subclasses (bool is an int)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not JSON compliant")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        out: dict[str, Json] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, not {type(key).__name__}")
            out[key] = _normalised(item)
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_normalised(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON data")
