"""Collapsing sparse weighting cells (quietpoll's rule; R's survey has no equivalent).

A level with fewer than ``min_count`` respondents (rows with non-zero weight) is merged into a
neighbour, one merge at a time, until every level has at least ``min_count`` or one level is left:

- the sparsest level is merged first (the earliest in order on ties);
- ordered categories (the default): into an adjacent level -- the only neighbour for the first or
  last level, otherwise the neighbour with fewer respondents (the earlier one on ties), so merged
  cells stay contiguous ranges like "60-69" + "70+";
- unordered categories (``ordered=False``): into the smallest other level (the earliest on ties).

The merged level is named from its parts: numeric ranges and open-ended classes join up
("60-69" + "70+" -> "60+", "18-24" + "25-34" -> "18-34"); anything else is joined with " / ".
Every merge is recorded: ``{"variable", "merged": [original levels], "into": new name, "n": respondents}``.
Targets for the new levels are the sums of the merged levels' targets (:func:`collapse_totals`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..errors import WeightingError

__all__ = ["collapse_sparse", "collapse_totals", "merged_name"]

_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[-\u2013]\s*(\d+(?:\.\d+)?)\s*$")
_PLUS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*\+\s*$")
_NUM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")


def _ends(label: str):
    for pat, kind in ((_RANGE, "range"), (_PLUS, "plus"), (_NUM, "num")):
        m = pat.match(label)
        if m:
            g = m.groups()
            return g[0], (None if kind == "plus" else g[-1])
    return None


def merged_name(parts: Sequence[str]) -> str:
    """Name of a merged cell from its original level names, in order."""
    first, last = _ends(parts[0]), _ends(parts[-1])
    if first is not None and last is not None and all(_ends(p) is not None for p in parts):
        lo, hi = first[0], last[1]
        return f"{lo}+" if hi is None else f"{lo}-{hi}"
    return " / ".join(parts)


def collapse_sparse(
    codes: np.ndarray,
    levels: Sequence[str],
    w: np.ndarray | None = None,
    min_count: int = 20,
    *,
    variable: str = "",
    ordered: bool = True,
) -> tuple[np.ndarray, tuple[str, ...], list[dict]]:
    """Merge levels with fewer than min_count respondents; returns (new codes, new levels, record)."""
    codes = np.asarray(codes, dtype=np.int64)
    k = len(levels)
    if np.any(codes >= k):
        raise WeightingError(f"'{variable}': a code is {int(codes.max())} but there are only {k} levels")
    resp = np.ones(codes.shape[0], dtype=bool) if w is None else (np.asarray(w, dtype=float) != 0)
    ok = (codes >= 0) & resp
    counts = np.bincount(codes[ok], minlength=k).astype(np.int64).tolist()
    groups: list[list[int]] = [[j] for j in range(k)]
    while len(groups) > 1:
        sizes = [sum(counts[j] for j in g) for g in groups]
        small = min(range(len(groups)), key=lambda i: (sizes[i], i))
        if sizes[small] >= min_count:
            break
        if ordered:
            if small == 0:
                other = 1
            elif small == len(groups) - 1:
                other = small - 1
            else:
                other = small - 1 if sizes[small - 1] <= sizes[small + 1] else small + 1
        else:
            other = min((i for i in range(len(groups)) if i != small), key=lambda i: (sizes[i], i))
        a, b = sorted((small, other))
        groups[a] = sorted(groups[a] + groups[b])
        del groups[b]
    new_of_old = np.empty(k, dtype=np.int64)
    new_levels: list[str] = []
    record: list[dict] = []
    for gi, g in enumerate(groups):
        new_of_old[g] = gi
        parts = [str(levels[j]) for j in g]
        name = parts[0] if len(g) == 1 else merged_name(parts)
        new_levels.append(name)
        if len(g) > 1:
            record.append({"variable": variable, "merged": parts, "into": name, "n": int(sum(counts[j] for j in g))})
    new_codes = np.where(codes >= 0, new_of_old[np.maximum(codes, 0)], -1)
    return new_codes, tuple(new_levels), record


def collapse_totals(
    levels: Sequence[str], totals: np.ndarray, record: Sequence[dict]
) -> tuple[tuple[str, ...], np.ndarray]:
    """Targets for the collapsed levels: each merged level's target is the sum of its parts'."""
    pos = {str(lev): i for i, lev in enumerate(levels)}
    totals = np.asarray(totals, dtype=float)
    groups: list[list[int]] = [[i] for i in range(len(levels))]
    owner = list(range(len(levels)))
    names = [str(lev) for lev in levels]
    for rec in record:
        idx = [pos[p] for p in rec["merged"]]
        head = owner[idx[0]]
        for i in idx[1:]:
            o = owner[i]
            if o != head:
                groups[head].extend(groups[o])
                for j in groups[o]:
                    owner[j] = head
                groups[o] = []
        names[head] = rec["into"]
    keep = [i for i in range(len(levels)) if groups[i]]
    return tuple(names[i] for i in keep), np.array([totals[groups[i]].sum() for i in keep])
