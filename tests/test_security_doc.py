"""docs/security.md keeps its promises honest (as datasette checks its docs against the code): every
test it names as `tests/FILE.py::test_name` (a parametrized id such as `[sqlite]` stripped) is a test
function defined in that file, every adversary has its section, and every adversary section names at
least one test. A renamed or deleted test, or a misspelled name in the page, fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "security.md"

# `tests/collect/test_app.py::test_health` or `...::test_x[sqlite]`
REFERENCE = re.compile(r"`(tests/[A-Za-z0-9_./-]+\.py)::([A-Za-z_][A-Za-z0-9_]*)(\[[^\]`]*\])?`")

ADVERSARIES = [
    "A police officer holding an interviewer's phone",
    "A seized collection server, switched off (at rest)",
    "A seized collection server, still running",
    "A lost or seized key-holder laptop",
    "A published or leaked data file",
    "A malicious submitter with a stolen token",
    "A network observer",
]
OTHER_SECTIONS = ["Known limits", "What the operator must do"]


def references(text: str) -> list[tuple[str, str]]:
    """(path, test name) for every test the text names."""
    return [(m.group(1), m.group(2)) for m in REFERENCE.finditer(text)]


def defines(path: Path, name: str) -> bool:
    """True when `path` defines a function `name` (at module level or in a class)."""
    source = path.read_text(encoding="utf-8")
    return re.search(rf"^\s*(?:async\s+)?def {re.escape(name)}\s*\(", source, re.MULTILINE) is not None


def missing(text: str, root: Path = REPO) -> list[str]:
    """Every reference in `text` whose file does not exist or does not define the test."""
    out = []
    for rel, name in references(text):
        path = root / rel
        if not path.is_file():
            out.append(f"{rel}::{name} (no such file)")
        elif not name.startswith("test_"):
            out.append(f"{rel}::{name} (not a test name)")
        elif not defines(path, name):
            out.append(f"{rel}::{name} (no def {name} in the file)")
    return out


def sections(text: str) -> dict[str, str]:
    """Level-2 headings (without a leading "N. ") -> their text."""
    parts = re.split(r"^## +(.+?)\s*$", text, flags=re.MULTILINE)
    return {re.sub(r"^\d+\.\s+", "", head): body for head, body in zip(parts[1::2], parts[2::2])}


@pytest.fixture(scope="module")
def doc() -> str:
    assert DOC.is_file(), "docs/security.md is missing"
    return DOC.read_text(encoding="utf-8")


def test_every_cited_test_exists(doc):
    cited = references(doc)
    assert len(cited) > 50, "the reference pattern found almost nothing: the check would be empty"
    assert missing(doc) == []


@pytest.mark.parametrize("heading", ADVERSARIES + OTHER_SECTIONS)
def test_every_section_is_there(doc, heading):
    assert heading in sections(doc), f"docs/security.md has no section '## {heading}'"


@pytest.mark.parametrize("heading", ADVERSARIES)
def test_every_adversary_section_names_a_test(doc, heading):
    body = sections(doc).get(heading, "")
    assert references(body), f"the section '{heading}' names no test"


def test_the_check_can_fail(tmp_path):
    """A misspelled name, a missing file or a helper that is not a test is reported; a parametrized
    id is stripped before the lookup."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('a', [1])\ndef test_real(a):\n    pass\n\n"
        "class TestGroup:\n    def test_in_class(self):\n        pass\n\ndef helper():\n    pass\n",
        encoding="utf-8",
    )
    good = "`tests/test_x.py::test_real[sqlite]` and `tests/test_x.py::test_in_class`"
    assert missing(good, tmp_path) == []
    bad = (
        "`tests/test_x.py::test_reel` `tests/test_y.py::test_real` `tests/test_x.py::helper` "
        "`tests/test_x.py::test_rea`"
    )
    assert missing(bad, tmp_path) == [
        "tests/test_x.py::test_reel (no def test_reel in the file)",
        "tests/test_y.py::test_real (no such file)",
        "tests/test_x.py::helper (not a test name)",
        "tests/test_x.py::test_rea (no def test_rea in the file)",
    ]
    assert sections("## 1. A network observer\ntext `tests/test_x.py::test_real`\n## Known limits\n") == {
        "A network observer": "\ntext `tests/test_x.py::test_real`\n",
        "Known limits": "",
    }
