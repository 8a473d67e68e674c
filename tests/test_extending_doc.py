"""docs/extending.md names the files each worked example touches: every path it writes in backticks
exists in the repository, unless the line marks it "(new)"."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "extending.md"
PATH = re.compile(r"`((?:src|tests|docs|benchmarks|scripts|web)/[\w./-]+|[A-Z]+\.md)`")


def named_paths() -> list[tuple[str, bool]]:
    out = []
    for line in DOC.read_text().splitlines():
        for m in PATH.finditer(line):
            out.append((m.group(1), line[m.end():].lstrip().startswith("(new)")))
    return out


def test_the_doc_has_the_three_design_sections():
    text = DOC.read_text()
    for heading in ("## Adding an estimator", "## Adding a replicate type", "## Adding a weighting method"):
        assert heading in text


def test_every_named_file_exists():
    paths = named_paths()
    assert len(paths) > 10
    missing = [p for p, new in paths if not new and not (ROOT / p).exists()]
    assert missing == []


def test_named_objects_exist():
    from quietpoll.design.builders import REPLICATE_TYPES, ReplicateType, register_replicate_type  # noqa: F401
    from quietpoll.design.protocol import Design, Piece  # noqa: F401
    from quietpoll.estimators.smooth import Smooth, evaluate  # noqa: F401
    from quietpoll.weighting.methods import METHODS, weighting_method  # noqa: F401
    import quietpoll.design.replicate as rep
    import quietpoll.weighting as w

    assert rep.REPLICATE_TYPES is REPLICATE_TYPES and w.METHODS is METHODS
