"""A faster materialization of formulaic's model matrix for the common formulas, with formulaic
still deciding everything about it.

formulaic parses the formula and, on a handful of prototype rows (the first row and the first row
of every level of every factor), builds its own model matrix: that gives the terms, the columns, their
names and order, the levels, the contrasts and which factors are reduced (its `ModelSpec.structure`).
The full matrix is then filled from that structure with numpy: numeric columns as they are, and a
factor's treatment-coded indicator columns scattered from its level codes in one pass (no dense dummy
frame, no pandas round trip, written straight into LAPACK's column-major layout).

It is used only when every factor of the formula is a numeric or text column or `factor(column)` of
an integer, float or text column and the response is a numeric column; and only when the names it
derives from the structure equal formulaic's column names and its matrix equals formulaic's on the
prototype rows. Anything else returns None and the caller materializes through formulaic itself.
tests/estimators/test_formula_fast.py compares both paths over many formulas.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from .levels import factor_codes
from .model_matrix import Ind, Num, StructuredX

_FACTOR = re.compile(r"^factor\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")
# factors with more levels than this are left to formulaic (the prototype holds a row per level)
MAX_LEVELS = 4096


def _numeric(s: pl.Series) -> bool:
    return s.dtype.is_integer() or s.dtype.is_float()


def _values(sub: pl.DataFrame, col: str, idx: np.ndarray | None) -> np.ndarray:
    v = sub.get_column(col).to_numpy()
    return v if idx is None else v[idx]


def fast_model_matrix(
    sub: pl.DataFrame,
    idx: np.ndarray,
    text: str,
    reference: Callable[[np.ndarray], Any],
) -> tuple[np.ndarray, StructuredX, Any] | None:
    """(y, X, rhs ModelSpec) equal to formulaic's model matrix of `text` over the rows `idx` of
    `sub`, or None when the formula is outside the fast path. `reference(rows)` is formulaic's own
    materialization over those rows of `sub` (it may raise; then None)."""
    from formulaic import Formula

    try:
        parsed = Formula(text)
        lhs, rhs = parsed.lhs, parsed.rhs
    except Exception:  # noqa: BLE001 - anything formulaic cannot parse is formulaic's to report
        return None
    # the response: one numeric column
    if len(lhs) != 1 or len(lhs[0].factors) != 1:
        return None
    yf = lhs[0].factors[0]
    if yf.eval_method.value != "lookup" or yf.expr not in sub.columns or not _numeric(sub.get_column(yf.expr)):
        return None
    n_all = sub.height
    every = len(idx) == n_all
    rows = None if every else idx
    numeric: dict[str, np.ndarray] = {}
    factors: dict[str, tuple[np.ndarray, list[str]]] = {}
    for term in rhs:
        for f in term.factors:
            how = f.eval_method.value
            if how == "literal" and f.expr == "1":
                continue
            if how == "lookup" and f.expr in sub.columns and _numeric(sub.get_column(f.expr)):
                if f.expr not in numeric:
                    numeric[f.expr] = _values(sub, f.expr, rows)
                continue
            # a text column (formulaic: categorical), or factor(column)
            m = _FACTOR.match(f.expr) if how == "python" else None
            col = f.expr if how == "lookup" else m.group(1) if m else None
            if col is None or col not in sub.columns:
                return None
            s = sub.get_column(col)
            if not (s.dtype == pl.String or (m is not None and _numeric(s))):
                return None
            if f.expr not in factors:
                v = _values(sub, col, rows)
                factors[f.expr] = factor_codes(v, np.zeros(len(v), bool), v.dtype.kind)
                if len(factors[f.expr][1]) > MAX_LEVELS:
                    return None
    m_rows = len(idx)
    # prototype rows: the first, and the first of every level of every factor
    proto = {0}
    for codes, cats in factors.values():
        proto.update(_first_rows(codes, len(cats)).tolist())
    at = np.array(sorted(proto), np.int64)
    try:
        ref = reference(idx[at])
    except Exception:  # noqa: BLE001 - the full materialization reports it
        return None
    spec = ref.rhs.model_spec
    for expr, (_, cats) in factors.items():
        state = spec.encoder_state.get(expr)
        if state is None or list(state[1].get("categories", ())) != cats:
            return None
    y = np.asarray(_values(sub, yf.expr, rows), dtype=np.float64)
    X = _fill(spec, numeric, factors, m_rows)
    if X is None:
        return None
    want = np.asarray(ref.rhs, dtype=np.float64)
    if want.shape != (len(at), X.p) or not np.array_equal(X.take(at).dense(), want, equal_nan=True):
        return None
    if not np.array_equal(y[at], np.asarray(ref.lhs, dtype=np.float64).reshape(-1), equal_nan=True):
        return None
    return y, X, spec


def _first_rows(codes: np.ndarray, k: int) -> np.ndarray:
    """The first row of each of the k codes 0..k-1 (each occurs): looked for in the first rows, then
    in all of them only if a level is missing there."""
    for m in (min(len(codes), 4096), len(codes)):
        first = np.full(k, -1, np.int64)
        head = codes[:m]
        first[head[::-1]] = np.arange(m - 1, -1, -1)
        if (first >= 0).all():
            break
    return first


def _fill(spec, numeric, factors, n) -> StructuredX | None:
    """The model matrix from formulaic's structure; None if a name it derives differs from
    formulaic's (a contrast, a factor kind or a naming the fast path does not know)."""
    p = len(spec.column_names)
    blocks: list[Num | Ind] = []
    j = 0
    for ts in spec.structure:
        names: list[str] = []
        for st in ts.scoped_terms:
            block = _scoped(st, numeric, factors, j, names)
            if block is None:
                return None
            blocks.append(block)
            j += 1 if isinstance(block, Num) else block.width
        if names != list(ts.columns):
            return None
    if j != p or tuple(spec.column_names) != tuple(itertools.chain.from_iterable(ts.columns for ts in spec.structure)):
        return None
    return StructuredX(n, p, tuple(blocks))


def _scoped(st, numeric, factors, j0, names) -> Num | Ind | None:
    """The columns of one scoped term from column j0 (a product of factors, the first varying
    fastest, as formulaic's _get_columns_for_term); appends their names."""
    if float(st.scale) != 1.0:  # a scaled term: formulaic's own materialization
        return None
    value: np.ndarray | None = None
    parts: list[list[str]] = []
    code: np.ndarray | None = None  # 1 + the column within the term, 0: no column (a reference level)
    stride = 1
    for sf in st.factors:
        expr = sf.factor.expr
        if expr in numeric:
            v = numeric[expr]
            value = v.astype(float, copy=False) if value is None else value * v
            parts.append([expr])
            continue
        if expr not in factors:
            return None
        codes, cats = factors[expr]
        if sf.reduced:
            # treatment contrasts: the first level is the reference (no column)
            pos = codes - 1
            labels = [f"{expr}[T.{c}]" for c in cats[1:]]
        else:
            pos = codes
            labels = [f"{expr}[{c}]" for c in cats]
        if not labels:
            return None
        parts.append(labels)
        if code is None and sf.reduced:
            code = codes  # the reference level (code 0) has no column: the codes themselves
        elif code is None:
            code = codes + 1
        else:
            code = np.where((code == 0) | (pos < 0), 0, code + pos * stride)
        stride *= len(labels)
    if not st.factors:
        names.append("Intercept")
    # names: itertools.product over the reversed factors, each name joined in factor order
    for combo in itertools.product(*reversed(parts)) if st.factors else ():
        names.append(":".join(reversed(combo)))
    if code is None:  # no factor: one column (the intercept, or a product of numeric columns)
        return Num(j0, value)
    return Ind(j0, stride, code.astype(np.intp, copy=False), value)
