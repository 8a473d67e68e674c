"""docs/extending.md matches the code: every file it names exists (except files a step introduces as
"New file `...`"), every section is a `## ` heading that names at least one file, and every Python
example parses."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "extending.md"
PATH = re.compile(r"(new file\s+)?`([A-Za-z0-9_./-]+/[A-Za-z0-9_.-]+\.(?:py|md|toml|js|json|R|csv|txt|html|j2))`", re.I)


def sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)$", DOC.read_text(encoding="utf-8"), flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def test_every_named_file_exists():
    missing = []
    for title, body in sections().items():
        named = PATH.findall(body)
        assert named, f"section {title!r} names no file"
        missing += [f"{title}: {path}" for new, path in named if not new and not (ROOT / path).exists()]
    assert not missing, "docs/extending.md names files that do not exist:\n" + "\n".join(missing)


def test_the_sections_of_the_cli_and_io_are_there():
    assert {"Adding a file format", "Adding a command"} <= set(sections())


def test_python_examples_parse():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    for block in blocks:
        ast.parse(textwrap.dedent(block))
