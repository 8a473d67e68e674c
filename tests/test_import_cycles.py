"""No import cycles between quietpoll's modules: every import (module level and inside functions; those
under `if TYPE_CHECKING:` aside) of every module under src/quietpoll, relative imports resolved, makes
an edge of the module graph; a strongly connected component of more than one module, or a module
importing itself, fails the test with the cycle listed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "quietpoll"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Import nodes of a module, skipping the bodies of `if TYPE_CHECKING:` (their else branches count)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def resolve(node: ast.Import | ast.ImportFrom, current: str, is_package: bool, modules: set[str]) -> set[str]:
    """The quietpoll modules an import statement names (`from pkg import sub` names pkg.sub when that is a
    module, else pkg)."""
    if isinstance(node, ast.Import):
        targets = {a.name for a in node.names}
    else:
        if node.level:
            base = current.split(".") if is_package else current.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        targets = set()
        for a in node.names:
            sub = f"{prefix}.{a.name}"
            targets.add(sub if sub in modules else prefix)
    out = set()
    for t in targets:
        while t and t not in modules:  # `import quietpoll.x.y` of a name inside a module: its module
            t = t.rpartition(".")[0]
        if t and (t == PACKAGE or t.startswith(PACKAGE + ".")):
            out.add(t)
    return out


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in (SRC / PACKAGE).rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            graph[mod] |= resolve(node, mod, path.name == "__init__.py", modules)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, and self-imports (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}, "f": set()}
    assert sorted(cycles(graph)) == [["a", "b", "c"], ["d"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_resolve_relative_and_type_checking_imports():
    src = (
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\nfrom . import b\n"
        "from ..c import thing\nif TYPE_CHECKING:\n    from .d import D\nelse:\n    import quietpoll.e\n"
        "def f():\n    from .f import g\n"
    )
    modules = {
        "quietpoll",
        "quietpoll.pkg",
        "quietpoll.pkg.a",
        "quietpoll.pkg.b",
        "quietpoll.c",
        "quietpoll.pkg.d",
        "quietpoll.e",
        "quietpoll.pkg.f",
    }
    found = set()
    for node in _imports(ast.parse(src)):
        found |= resolve(node, "quietpoll.pkg.a", False, modules)
    assert found == {"quietpoll.pkg.b", "quietpoll.c", "quietpoll.e", "quietpoll.pkg.f"}


def test_no_import_cycles():
    graph = import_graph()
    assert "quietpoll.cli.estimate" in graph and graph["quietpoll.cli"]  # the graph is really built
    found = cycles(graph)
    if found:
        pytest.fail("import cycles between quietpoll's modules:\n" + "\n".join(" <-> ".join(c) for c in found))
