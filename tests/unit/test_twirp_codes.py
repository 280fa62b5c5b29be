"""One Twirp code table (twirp_wire.codes) for the edge, the OpenAPI description and the SDK."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from chat_client import errors
from chat_service.edge.twirp import TwirpError, twirp_error_response
from chat_service.edge.web_pages import OPENAPI_PATH
from codegen import protoc_gen_openapi
from twirp_wire import codes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("code", codes.CODES)
def test_the_edge_sends_each_code_with_the_tables_status(code):
    status, _, body = twirp_error_response(TwirpError(code, "m"))
    assert status == codes.STATUS_BY_CODE[code]
    assert json.loads(body)["code"] == code


def test_the_openapi_description_documents_each_code_under_the_tables_status():
    spec = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert spec["components"]["schemas"]["TwirpError"]["properties"]["code"]["enum"] == list(
        codes.CODES
    )
    documented = 0
    operations = [op for path in spec["paths"].values() for op in path.values()]
    for operation in operations:  # the stream resume is a GET
        for status, response in operation["responses"].items():
            if status == "200":
                continue
            named = response["description"].removeprefix("Twirp error: ").split(", ")
            assert [codes.STATUS_BY_CODE[code] for code in named] == [int(status)] * len(named)
            documented += len(named)
    assert documented


def test_the_openapi_generator_puts_every_code_under_the_tables_status():
    responses = protoc_gen_openapi._responses("#/components/schemas/X", codes.CODES)
    listed = {
        code: int(status)
        for status, response in responses.items()
        if status != "200"
        for code in response["description"].removeprefix("Twirp error: ").split(", ")
    }
    assert listed == dict(codes.STATUS_BY_CODE)


def test_the_sdk_has_a_class_for_exactly_the_tables_codes():
    assert set(errors.ERROR_TYPES) == set(codes.CODES)


@pytest.mark.parametrize("status", [*codes.CODE_BY_INTERMEDIARY_STATUS, 418, 500])
def test_the_sdk_maps_a_proxy_page_by_the_tables_status(status):
    error = errors.error_from_response(status, b"<html>proxy</html>")
    assert type(error).code == codes.intermediary_code(status)
    assert error.from_intermediary


def test_the_intermediary_table_agrees_with_the_servers_statuses_but_for_400():
    for status, code in codes.CODE_BY_INTERMEDIARY_STATUS.items():
        assert code in codes.STATUS_BY_CODE
        if status in codes.STATUS_BY_CODE.values() and status != 400:
            assert codes.STATUS_BY_CODE[code] == status, (status, code)
    assert codes.intermediary_code(418) == "unknown"


def test_twirp_wire_imports_the_standard_library_only():
    for source in (ROOT / "twirp_wire").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (source, name)


def _code_tables(tree: ast.AST) -> list[int]:
    """Returns the lines of dict literals that map three or more Twirp codes to numbers, or
    numbers to codes."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        pairs = [
            (k.value, v.value)
            for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
        ]
        if sum(1 for pair in pairs if _code_and_number(*pair)) >= 3:
            lines.append(node.lineno)
    return lines


def _code_and_number(key: object, value: object) -> bool:
    return any(
        isinstance(code, str) and code in codes.STATUS_BY_CODE and type(number) is int
        for code, number in ((key, value), (value, key))
    )


def test_no_other_module_keeps_its_own_code_table():
    skipped = {"gen", "var", "build", "node_modules", "twirp_wire"}
    folders = [
        p for p in ROOT.iterdir() if p.is_dir() and p.name not in skipped and p.name[0] != "."
    ]
    copies = []
    for source in sorted(s for folder in folders for s in folder.rglob("*.py")):
        if "node_modules" in source.parts:
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        copies += [f"{source.relative_to(ROOT)}:{line}" for line in _code_tables(tree)]
    assert not copies, "import twirp_wire.codes instead of copying its table: " + ", ".join(copies)
