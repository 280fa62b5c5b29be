"""The types a model and the tools exchange: a tool as offered (ToolSpec), a call (ToolCall)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as offered to a model: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to run a tool; `arguments` is the JSON text the model wrote."""

    id: str
    name: str
    arguments: str
