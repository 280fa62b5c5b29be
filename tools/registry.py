"""The Tool protocol and the immutable ToolRegistry that validates arguments against schemas."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import jsonschema
from jsonschema.validators import validator_for

from tools.spec import ToolSpec

JSONObject = Mapping[str, Any]


class ToolError(Exception):
    """A tool could not produce its result; the message goes back to the model as the result.

    Messages must be safe to show: no keys, no internal details.
    """


class InvalidToolArguments(ToolError):
    """The model's arguments are not JSON or break the tool's schema."""


class DuplicateToolName(ValueError):
    """Two tools share a name."""


@runtime_checkable
class Tool(Protocol):
    """A tool the model can call.

    `parameters` is a JSON schema (type "object") of the arguments; `run` gets arguments
    already validated against it and returns the result as text (JSON by convention). It
    raises ToolError for failures the model should hear about; it must be thread-safe.
    """

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> JSONObject: ...

    def run(self, arguments: JSONObject) -> str: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    tool: Tool
    validator: Any  # a jsonschema Validator instance for the tool's schema


class ToolRegistry:
    """An immutable set of tools by name, in the order given (so prompts are stable).

    Raises DuplicateToolName when two tools share a name and ValueError when a tool's name
    is not `[a-zA-Z0-9_-]{1,64}` (what both providers accept) or its schema is invalid.
    """

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        entries: dict[str, _Entry] = {}
        for tool in tools:
            _check_name(tool.name)
            if tool.name in entries:
                raise DuplicateToolName(f"two tools are named {tool.name!r}")
            schema = dict(tool.parameters)
            cls = validator_for(schema)
            cls.check_schema(schema)
            entries[tool.name] = _Entry(tool, cls(schema))
        self._entries = MappingProxyType(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    @property
    def names(self) -> tuple[str, ...]:
        """Returns the tools' names in registration order."""
        return tuple(self._entries)

    def specs(self) -> tuple[ToolSpec, ...]:
        """Returns the tools as offered to a model, in registration order."""
        return tuple(
            ToolSpec(e.tool.name, e.tool.description, e.tool.parameters)
            for e in self._entries.values()
        )

    def with_tools(self, tools: Iterable[Tool]) -> ToolRegistry:
        """Returns a new registry with these tools added after the existing ones."""
        return ToolRegistry([*(e.tool for e in self._entries.values()), *tools])

    def run(self, name: str, arguments: str) -> str:
        """Returns the result of tool `name` called with the JSON text `arguments`.

        Raises ToolError (InvalidToolArguments for bad JSON or arguments outside the schema,
        ToolError for an unknown tool) and whatever the tool raises.
        """
        entry = self._entries.get(name)
        if entry is None:
            raise ToolError(f"there is no tool named {name!r}")
        parsed = parse_arguments(arguments)
        errors = sorted(entry.validator.iter_errors(parsed), key=lambda e: list(e.path))
        if errors:
            raise InvalidToolArguments(
                "invalid arguments: " + "; ".join(_describe(e) for e in errors[:3])
            )
        return entry.tool.run(parsed)


def parse_arguments(arguments: str) -> dict[str, Any]:
    """Returns the JSON object in `arguments` ("" means {}); raises InvalidToolArguments."""
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        raise InvalidToolArguments("arguments are not valid JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidToolArguments("arguments must be a JSON object")
    return parsed


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def _check_name(name: str) -> None:
    if not (0 < len(name) <= 64 and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)):
        raise ValueError(f"tool name {name!r} must be 1-64 characters of [a-zA-Z0-9_-]")
