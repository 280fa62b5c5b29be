"""The shell examples in the README and docs/: every key they send is one they made first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_SENT_KEY = re.compile(r"(?:Bearer |X-API-Key: )\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_a_key_an_example_sends_is_assigned_in_an_earlier_example(document):
    # A reader copies the blocks in order: `$API_KEY` is unset in their shell (it is a setting of
    # the service, not of the shell), while `KEY=$(... keys create ...)` defines what is sent.
    assigned: set[str] = set()
    for block in _shell_blocks(document.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.lstrip().startswith("#"):
                continue  # a comment is not run (it may point at a key made elsewhere)
            for name in _SENT_KEY.findall(line):
                assert name in assigned, f"{document.name}: {line.strip()!r} sends ${name}"
            assigned |= set(re.findall(r"(?:^|\s|export\s+)([A-Za-z_][A-Za-z0-9_]*)=", line))
