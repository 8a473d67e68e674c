"""No code outside src/quietpoll/design/ asks which kind a design is: estimators and weighting
methods use the Design protocol (design/protocol.py). The scan fails on a comparison of a design's
`.kind`, an isinstance check on a design class, or a hasattr/getattr probe of a kind-specific
attribute, anywhere else in the package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import quietpoll

PKG = Path(quietpoll.__file__).parent
DESIGN_CLASSES = {"TaylorDesign", "ReplicateDesign"}
KIND_VALUES = {"taylor", "replicate"}
KIND_ATTRS = {
    "rep_variance",
    "replicate_totals",
    "rep_matrix",
    "repweights",
    "stages",
    "calibrations",
    "variance",
    "rep_columns",
    "n_replicates",
    "kind",
}
DESIGNISH = re.compile(r"(^|_)(des|design|designs|weighted|rep|taylor)$|design")


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def kind_branches(source: str, filename: str = "<src>") -> list[str]:
    """Lines of `source` that branch on a design's kind."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for i, side in enumerate(sides):
                if isinstance(side, ast.Attribute) and side.attr == "kind":
                    others = sides[:i] + sides[i + 1 :]
                    consts = {o.value for o in others if isinstance(o, ast.Constant)}
                    if consts & KIND_VALUES or DESIGNISH.search(_name(side.value)):
                        found.append(f"{filename}:{node.lineno}: compares {_name(side.value)}.kind")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "isinstance" and len(node.args) == 2:
                cls = node.args[1]
                names = {_name(e) for e in (cls.elts if isinstance(cls, ast.Tuple) else [cls])}
                if names & DESIGN_CLASSES:
                    found.append(f"{filename}:{node.lineno}: isinstance on {sorted(names & DESIGN_CLASSES)}")
            if node.func.id in ("hasattr", "getattr") and len(node.args) >= 2:
                attr = node.args[1]
                if (
                    isinstance(attr, ast.Constant)
                    and attr.value in KIND_ATTRS
                    and DESIGNISH.search(_name(node.args[0]))
                ):
                    found.append(f"{filename}:{node.lineno}: {node.func.id}(…, {attr.value!r})")
    return found


def test_no_design_kind_branch_outside_design():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "design":
            continue
        found += kind_branches(path.read_text(), str(rel))
    assert found == []


def test_the_scan_finds_each_kind_of_branch():
    snippets = [
        'if design.kind == "taylor":\n    pass\n',
        'x = des.kind != "replicate"\n',
        'if weighted.kind in ("replicate",):\n    pass\n',
        'if "taylor" == obj.kind:\n    pass\n',
        "if isinstance(design, TaylorDesign):\n    pass\n",
        "if isinstance(d, (int, ReplicateDesign)):\n    pass\n",
        'if hasattr(design, "rep_variance"):\n    pass\n',
        'keep = getattr(design, "calibrations", ())\n',
    ]
    for s in snippets:
        assert kind_branches(s), s
    # other things called kind are not designs
    assert kind_branches('if ind.kind == "proportion":\n    pass\nif a.dtype.kind == "f":\n    pass\n') == []
