"""Third-party tools arrive through the `chat_service.tools` entry-point group.

The test installs a tiny distribution (a module and its .dist-info with entry_points.txt)
into a temporary sys.path entry, so importlib.metadata discovers it as it would a wheel.
"""

from __future__ import annotations

import sys
import textwrap
from datetime import UTC, datetime

import pytest
import requests

from chat_service.core.breakers import BreakerBoard
from tools.plugins import ENTRY_POINT_GROUP, PluginError, ToolContext, plugin_tools
from tools.registry import ToolRegistry

PLUGIN_MODULE = '''
"""A third-party tool."""
import json


class Dice:
    name = "roll_dice"
    description = "Rolls a die."
    parameters = {"type": "object", "properties": {"sides": {"type": "integer"}}}

    def __init__(self, context):
        self.timeout_s = context.timeout_s

    def run(self, arguments):
        return json.dumps({"rolled": arguments.get("sides", 6), "timeout_s": self.timeout_s})


def make_tool(context):
    return Dice(context)


def make_nothing(context):
    return object()
'''


def _install(tmp_path, monkeypatch, entry_points: str) -> None:
    (tmp_path / "acme_dice_plugin.py").write_text(PLUGIN_MODULE)
    dist = tmp_path / "acme_dice-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-dice\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_dice_plugin", raising=False)


@pytest.fixture
def context():
    with requests.Session() as http:
        yield ToolContext(
            http=http,
            breakers=BreakerBoard(max_failures=3, cooldown_s=30),
            clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
            timeout_s=7.0,
        )


def test_an_installed_plugin_is_loaded_and_runs_through_the_registry(
    tmp_path, monkeypatch, context
):
    _install(tmp_path, monkeypatch, f"[{ENTRY_POINT_GROUP}]\ndice = acme_dice_plugin:make_tool\n")
    registry = ToolRegistry(plugin_tools(context))
    assert registry.names == ("roll_dice",)
    assert registry.run("roll_dice", '{"sides": 20}') == '{"rolled": 20, "timeout_s": 7.0}'


def test_a_plugin_that_builds_no_tool_stops_start_up(tmp_path, monkeypatch, context):
    _install(tmp_path, monkeypatch, f"[{ENTRY_POINT_GROUP}]\nbad = acme_dice_plugin:make_nothing\n")
    with pytest.raises(PluginError, match="did not return a Tool"):
        plugin_tools(context)


def test_a_plugin_that_cannot_be_imported_stops_start_up(tmp_path, monkeypatch, context):
    _install(tmp_path, monkeypatch, f"[{ENTRY_POINT_GROUP}]\nbad = acme_missing_module:make\n")
    with pytest.raises(PluginError, match="acme_missing_module:make"):
        plugin_tools(context)
