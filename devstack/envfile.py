"""Reads a `.env` file: simple KEY=VALUE lines, for `make run` only."""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)")


def read_env_file(path: Path) -> dict[str, str]:
    """Returns the KEY=VALUE pairs of `path`, or {} if there is no such file.

    Blank lines and `#` comments are skipped; an `export ` prefix, one pair of matching quotes
    around the value and, outside quotes, a trailing ` # comment` are removed. Nothing is expanded.
    Raises ValueError naming the first line that is not KEY=VALUE.
    """
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.fullmatch(stripped)
        if match is None:
            raise ValueError(f"{path}:{number}: expected KEY=VALUE")
        values[match["key"]] = _unquote(match["value"])
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].rstrip()
