"""Third-party tools, loaded from the `chat_service.tools` entry-point group.

A distribution adds tools by declaring, in its pyproject.toml:

    [project.entry-points."chat_service.tools"]
    stock_price = "my_package.stock:make_tool"

where `make_tool(context: ToolContext) -> Tool` builds the tool with what it needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import EntryPoint, entry_points

import requests

from tools.breakers import Breakers
from tools.registry import Tool

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "chat_service.tools"


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What the service hands a plugin's factory: an HTTP session, breakers, a clock, a timeout."""

    http: requests.Session
    breakers: Breakers
    clock: Callable[[], datetime]
    timeout_s: float


class PluginError(RuntimeError):
    """A plugin's entry point could not be loaded or did not build a Tool."""


def plugin_tools(context: ToolContext, *, found: Iterable[EntryPoint] | None = None) -> list[Tool]:
    """Returns the tools built by every entry point of ENTRY_POINT_GROUP (or of `found`).

    Raises PluginError naming the entry point that fails: a broken plugin stops start-up
    rather than silently disappearing.
    """
    tools: list[Tool] = []
    for entry_point in found if found is not None else entry_points(group=ENTRY_POINT_GROUP):
        try:
            factory = entry_point.load()
            tool = factory(context)
        except Exception as exc:
            raise PluginError(f"tool plugin {entry_point.value!r} failed to load: {exc}") from exc
        if not isinstance(tool, Tool):
            raise PluginError(f"tool plugin {entry_point.value!r} did not return a Tool")
        logger.info(
            "loaded tool plugin", extra={"tool": tool.name, "entry_point": entry_point.value}
        )
        tools.append(tool)
    return tools
