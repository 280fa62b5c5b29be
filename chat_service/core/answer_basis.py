"""The basis of a model answer for cache keys: prompts, tools and model as plain JSON data."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from chat_service.core import prompts
from chat_service.core.cache.keys import AnswerBasis, Json
from chat_service.ports.chat_model import ChatMessage, ToolSpec


def answer_basis(
    model_name: str,
    messages: Sequence[ChatMessage],
    *,
    sampling: Mapping[str, Json],
    tools: Sequence[ToolSpec] = (),
) -> AnswerBasis:
    """Returns the basis of asking `model_name` (a ChatModel's name, provider chains
    included) for an answer to `messages` with these limits and tools (in their order)."""
    # A provider chain is named "openai:gpt-4o-mini>anthropic:claude-…": keep every link.
    links = [link.partition(":") for link in model_name.split(">")]
    return AnswerBasis(
        provider=">".join(provider for provider, _, _ in links),
        model=">".join(model for _, _, model in links),
        prompt_version=prompts.PROMPT_VERSION,
        sampling=sampling,
        tools=[_spec_json(spec) for spec in tools],
        messages=[_message_json(m) for m in messages],
    )


_SPECS: dict[int, tuple[ToolSpec, dict[str, Json]]] = {}
_CACHED_SPECS = 256


def _spec_json(spec: ToolSpec) -> dict[str, Json]:
    """The spec as Json values, made once per spec (the registry hands out the same ones);
    callers must not change it."""
    known = _SPECS.get(id(spec))
    if known is not None and known[0] is spec:
        return known[1]
    # A round trip turns the schema (JSON data typed as objects) into Json values.
    parameters: Json = json.loads(json.dumps(dict(spec.parameters)))
    made: dict[str, Json] = {
        "name": spec.name,
        "description": spec.description,
        "parameters": parameters,
    }
    if len(_SPECS) >= _CACHED_SPECS:
        _SPECS.clear()
    _SPECS[id(spec)] = (spec, made)
    return made


def _message_json(message: ChatMessage) -> dict[str, Json]:
    out: dict[str, Json] = {"role": message.role.value, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out
