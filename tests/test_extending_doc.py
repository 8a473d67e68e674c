"""docs/extending.md matches the code: every backticked path under src/, tests/, benchmarks/ or docs/
exists (``path::name`` also names a top-level function, class or assignment of that file; a path with a
``<placeholder>`` is a file the reader creates, so its folder must exist; so is a path followed by
"(new)"), and every backticked dotted
``quietpoll.module.attr`` name imports. The checker is also run on made-up text with a missing path, a
missing ``::name`` and a name that does not import, to show it fails."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "extending.md"
PATH_PREFIXES = ("src/", "tests/", "benchmarks/", "docs/")
CODE = re.compile(r"`([^`\n]+)`")
DOTTED = re.compile(r"quietpoll(?:\.[A-Za-z_]\w*)+")


def spans(text: str) -> list[str]:
    return [m.group(1).strip() for m in CODE.finditer(text)]


def new_files(text: str) -> set[str]:
    """Paths the text marks as files an example creates: `path` (new)."""
    return {m.group(1).strip() for m in CODE.finditer(text) if text[m.end() :].lstrip().startswith("(new)")}


def top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def path_problem(span: str, root: Path = ROOT) -> str | None:
    """Why a backticked path is wrong, or None."""
    path, _, name = span.partition("::")
    if "<" in path:  # a file the reader creates: its folder must exist
        folder = (root / path).parent
        return None if folder.is_dir() else f"{span}: folder {folder.relative_to(root)} does not exist"
    target = root / path
    if not target.exists():
        return f"{span}: no such file or folder"
    if name:
        if target.suffix != ".py":
            return f"{span}: '::' names a definition of a Python file"
        if name.split(".")[0] not in top_level_names(target):
            return f"{span}: {path} defines no {name.split('.')[0]}"
    return None


def name_problem(dotted: str) -> str | None:
    """Why a dotted quietpoll name does not resolve (the longest importable module, then attributes)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return f"{dotted}: {'.'.join(parts[:cut])} has no {attr}"
            obj = getattr(obj, attr)
        return None
    return f"{dotted}: no module of it imports"


def problems(text: str, root: Path = ROOT) -> list[str]:
    found = []
    created = new_files(text)
    for span in spans(text):
        if span.startswith(PATH_PREFIXES) and span in created:  # a file the example creates
            p = None if (root / span.partition("::")[0]).parent.is_dir() else f"{span}: its folder does not exist"
        elif span.startswith(PATH_PREFIXES):
            p = path_problem(span, root)
        elif DOTTED.fullmatch(span.removesuffix("()")):
            p = name_problem(span.removesuffix("()"))
        else:
            continue
        if p:
            found.append(p)
    return found


def test_doc_has_every_section():
    text = DOC.read_text(encoding="utf-8")
    for heading in (
        "Adding an estimator",
        "Adding a replicate type",
        "Adding a weighting method",
        "Adding a store backend",
        "Adding a file format",
        "Adding a command",
    ):
        assert re.search(rf"^## {heading}$", text, re.M), heading
    for title, body in zip(*[iter(re.split(r"^## (.+)$", text, flags=re.M)[1:])] * 2):
        assert any(s.startswith(PATH_PREFIXES) for s in spans(body)), f"section {title!r} names no file"


def test_python_examples_parse():
    import textwrap

    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    for block in blocks:
        ast.parse(textwrap.dedent(block))


def test_named_extension_points_exist():
    import quietpoll.design.replicate as rep
    import quietpoll.weighting as w
    from quietpoll.design.builders import REPLICATE_TYPES, ReplicateType, register_replicate_type  # noqa: F401
    from quietpoll.design.protocol import Design, Piece  # noqa: F401
    from quietpoll.estimators.smooth import Smooth, evaluate  # noqa: F401
    from quietpoll.weighting.methods import METHODS, weighting_method  # noqa: F401

    assert rep.REPLICATE_TYPES is REPLICATE_TYPES and w.METHODS is METHODS


def test_every_path_and_name_in_the_doc_resolves():
    text = DOC.read_text(encoding="utf-8")
    checked = [s for s in spans(text) if s.startswith(PATH_PREFIXES) or DOTTED.fullmatch(s.removesuffix("()"))]
    assert len(checked) >= 10  # the doc does name files and objects
    assert problems(text) == []


def test_the_store_section_names_the_backend_files():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Adding a store backend", 1)[1].split("\n## ", 1)[0]
    named = set(spans(section))
    for required in (
        "src/quietpoll/collect/backend.py",
        "src/quietpoll/collect/store_pg.py",
        "tests/collect/conftest.py",
        "tests/collect/pgserver.py",
        "tests/collect/test_store_pg.py",
        "quietpoll.collect.backend.BACKENDS",
        "quietpoll.collect.backend.open_store",
        "quietpoll.collect.backend.StoreBackend",
    ):
        assert required in named, required


@pytest.mark.parametrize(
    "text,expected",
    [
        ("see `src/quietpoll/no_such_module.py`", "no such file"),
        ("see `tests/collect/pgserver.py::no_such_fixture`", "defines no no_such_fixture"),
        ("see `src/quietpoll/nowhere/<name>.py`", "does not exist"),
        ("see `quietpoll.collect.backend.NO_SUCH_NAME`", "has no NO_SUCH_NAME"),
        ("see `quietpoll.no_such_package.thing`", "has no no_such_package"),
        ("see `src/quietpoll/nowhere/x.py` (new)", "its folder does not exist"),
    ],
)
def test_the_checker_fails_on_what_does_not_exist(text, expected):
    found = problems(text)
    assert len(found) == 1 and expected in found[0], found


def test_the_checker_accepts_what_exists():
    assert (
        problems(
            "`src/quietpoll/collect/store_<name>.py`, `tests/collect/pgserver.py::store_url`, "
            "`quietpoll.collect.store.Store.open`, `docs/deploy.md`, `sqlite:///PATH`, "
            "`src/quietpoll/estimators/geomean.py` (new)"
        )
        == []
    )
