"""Import cycles among the statistical core: design/, estimators/, weighting/ and codes.py.

Every import counts, function-level ones included (only `if TYPE_CHECKING:` blocks are skipped). The
packages form a one-way chain (estimators -> design -> weighting -> codes), and no module of
estimators/ or weighting/ is on a cycle."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import quietpoll

PKG = Path(quietpoll.__file__).parent
CORE = {"design", "estimators", "weighting", "codes"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    mods = {_module(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in mods.items():
        tree = ast.parse(path.read_text())
        skip = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        here = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                for alias in node.names:
                    for cand in (f"{target}.{alias.name}", target):
                        if cand in mods:
                            graph[mod].add(cand)
                            break
            elif isinstance(node, ast.Import):
                graph[mod].update(a.name for a in node.names if a.name in mods)
    return graph


def _area(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[set[str]] = []
    nodes = set(graph) | {t for ts in graph.values() for t in ts}
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(comp)
    return out


def test_core_packages_import_one_way():
    graph = import_graph()
    packages: dict[str, set[str]] = defaultdict(set)
    for mod, targets in graph.items():
        for t in targets:
            a, b = _area(mod), _area(t)
            if a != b and a in CORE and b in CORE:
                packages[a].add(b)
    assert cycles(packages) == []
    assert "design" not in packages["weighting"] and "estimators" not in packages["design"]


def test_no_module_cycle_in_estimators_or_weighting():
    graph = import_graph()
    bad = [c for c in cycles(graph) if any(_area(m) in ("estimators", "weighting") for m in c)]
    assert bad == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []
