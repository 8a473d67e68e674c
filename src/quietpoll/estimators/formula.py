"""R model formulas through formulaic: the response, the model matrix with R's treatment contrasts,
and R's column names (`(Intercept)`, `stypeH`, `factor(dom)2`, `x:z`, `I(x^2)`, `poly(x, 2)1`).

R's syntax that Python cannot read is translated first: `^` inside a function call (`I(x^2)`) is a
power; `factor(x)` makes a categorical variable with levels in R's order (numbers numerically, text
sorted); `relevel(x, ref = "b")` puts level b first, as R's relevel. Formulaic's `C(x,
Treatment(reference = "b"))` works too. Names are R's deparsed expressions (spaces around binary
operators and after commas, `=` with spaces, double quotes), so `relevel(g, ref='b')a` becomes
R's `relevel(g, ref = "b")a`.

Known divergences from R: a logical predictor (`I(x > 5)`, a Boolean column) enters as its 0/1 values
under the name `I(x > 5)` (R: `I(x > 5)TRUE`, the same column); an interaction of factors without their
main effects (`y ~ a:b`) is coded full-rank by formulaic where R keeps a redundant column and reports
it as NA.

Rows with a missing value in any variable of the formula are left out of the fit (the caller keeps
them in the design as rows outside the domain, as R's svyglm does through its subset of the design).
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..errors import ColumnError, EstimationError
from .levels import _num_label, factor_codes


@dataclass(frozen=True)
class ModelFrame:
    formula: str
    response: str
    y: np.ndarray  # (m,) response of the complete rows
    matrix: Any  # (m, p) model matrix: an ndarray, or a StructuredX (model_matrix.py) kept as its terms
    names: tuple[str, ...]  # R's column names
    complete: np.ndarray  # (n,) bool: no missing value in any model variable
    spec: object  # formulaic ModelSpec of the right-hand side (for predict)

    @property
    def X(self) -> np.ndarray:
        """The dense (m, p) model matrix, Fortran order."""
        m = self.matrix
        return m if isinstance(m, np.ndarray) else m.dense()


def _factor(x):
    """R's factor(): levels sorted (numbers numerically), labelled as R prints them; vectorized."""
    import pandas as pd

    s = pd.Series(x)
    codes, cats = factor_codes(s.to_numpy(), s.isna().to_numpy(), s.dtype.kind)
    return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=s.index)


def _relevel(x, ref):
    import pandas as pd

    s = x if isinstance(getattr(x, "dtype", None), pd.CategoricalDtype) else _factor(x)
    cats = list(s.cat.categories)
    ref = str(_num_label(ref) if isinstance(ref, (int, float)) else ref)
    if ref not in cats:
        raise EstimationError(f"relevel: '{ref}' is not a level (levels: {', '.join(cats[:10])})")
    return s.cat.reorder_categories([ref] + [c for c in cats if c != ref])


CONTEXT = {
    "factor": _factor,
    "relevel": _relevel,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
}


def _python_syntax(formula: str) -> str:
    """R's `^` inside a call is Python's `**`; at formula level it stays (interaction power)."""
    out, stack = [], []
    prev_word = False
    for ch in formula:
        if ch == "(":
            stack.append(prev_word)
        elif ch == ")" and stack:
            stack.pop()
        if ch == "^" and any(stack):
            out.append("**")
        else:
            out.append(ch)
        if not ch.isspace():
            prev_word = ch.isalnum() or ch in "._"
    return "".join(out)


_IDENT = re.compile(r"""("[^"]*"|'[^']*')|`([^`]+)`|([A-Za-z_.][A-Za-z0-9_.]*)(\s*\()?(\s*=(?!=))?""")
_KNOWN = {"TRUE", "FALSE", "True", "False", "pi", "T", "F"}
# the only functions a formula may call: formulaic evaluates a formula's terms as Python, so anything
# else (__import__, getattr, open, methods of objects) is refused before it runs
ALLOWED_CALLS = (
    "factor",
    "relevel",
    "C",
    "Treatment",
    "I",
    "poly",
    "log",
    "log2",
    "log10",
    "log1p",
    "exp",
    "sqrt",
    "abs",
    "center",
    "scale",
    "np.log",
    "np.log2",
    "np.log10",
    "np.log1p",
    "np.exp",
    "np.sqrt",
    "np.abs",
)


def _columns(text: str, columns) -> tuple[str, list[str], list[str]]:
    """The formula with column names that Python cannot read (avg.ed) in backticks, the columns it
    uses, and the names it uses that are neither columns nor function names nor keywords."""
    have = set(columns)
    used: list[str] = []
    unknown: list[str] = []
    out: list[str] = []
    pos = 0
    for m in _IDENT.finditer(text):
        out.append(text[pos : m.start()])
        pos = m.end()
        quoted, bq, name, call, kw = m.groups()
        if quoted is not None:
            out.append(quoted)
            continue
        if bq is not None and "__" in bq and bq not in have:
            raise EstimationError(f"the formula uses '{bq}': names with '__' are not allowed in a formula")
        if bq is not None:
            (used if bq in have else unknown).append(bq)
            out.append(m.group(0))
            continue
        if call and name not in ALLOWED_CALLS:
            raise EstimationError(
                f"the formula calls '{name}', which a formula may not call (allowed: {', '.join(ALLOWED_CALLS)})"
            )
        if "__" in name:
            raise EstimationError(f"the formula uses '{name}': names with '__' are not allowed in a formula")
        if name in have and not call and not kw:  # a column wins over a constant of the same name
            used.append(name)
            out.append((f"`{name}`" if not name.isidentifier() else name) + (m.group(5) or ""))
            continue
        if call or kw or name in _KNOWN or name[0].isdigit() or (name[0] == "." and name[1:2].isdigit()):
            out.append(m.group(0))
            continue
        if name in have:
            used.append(name)
            out.append(f"`{name}`" if not name.isidentifier() else name)
        else:
            unknown.append(name)
            out.append(name)
    out.append(text[pos:])
    return "".join(out), list(dict.fromkeys(used)), unknown


def model_frame(frame: pl.DataFrame, formula: str, rows: np.ndarray | None = None) -> ModelFrame:
    """The response and model matrix of `formula` over `rows` (None: all rows) minus rows with a
    missing value; ColumnError for a column not in the data."""
    from formulaic import model_matrix
    from formulaic.errors import FormulaicError

    if "~" not in formula:
        raise EstimationError(f"the formula '{formula}' has no '~': write it as 'y ~ x + factor(g)'")
    text, cols, unknown = _columns(_python_syntax(formula), frame.columns)
    if unknown:
        v = unknown[0]
        close = difflib.get_close_matches(v, frame.columns, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ColumnError(f"the formula names column '{v}', which is not in the data{hint}")
    lhs = formula.split("~", 1)[0].strip()
    if not lhs:
        raise EstimationError(f"the formula '{formula}' has no response: write it as 'y ~ x'")
    sub = frame[cols]  # the columns as they are (select would rechunk them: a copy)
    missing = np.zeros(frame.height, bool)
    for c in cols:
        s = sub.get_column(c)
        nans = s.is_nan() if s.dtype.is_float() else None
        nan = nans is not None and bool(nans.any())
        if not (s.null_count() or nan):  # the common case: nothing missing, no mask built
            continue
        m = s.is_null()
        if nans is not None and nan:
            m = m | nans
        missing |= m.to_numpy()
    complete = ~missing
    use = complete.copy()
    if rows is not None:
        mask = np.zeros(frame.height, bool)
        mask[rows] = True
        use &= mask
    idx = np.flatnonzero(use)
    if len(idx) == 0:
        raise EstimationError(f"no rows with every variable of '{formula}' observed (in the subset): nothing to fit")

    def materialize(at: np.ndarray | None):
        pdf = (sub if at is None else sub[at]).to_pandas()
        try:
            return model_matrix(text, pdf, context=CONTEXT, na_action="ignore", output="pandas")
        except (FormulaicError, ValueError, TypeError, KeyError, NameError) as e:
            raise EstimationError(f"cannot build the model matrix of '{formula}': {e}") from None

    from .formula_fast import fast_model_matrix

    fast = fast_model_matrix(sub, idx, text, materialize)
    if fast is not None:
        y, X, spec = fast
        names = tuple(r_name(c) for c in spec.column_names)
        return ModelFrame(formula, lhs, y, X, names, use, spec)
    mm = materialize(None if len(idx) == frame.height else idx)
    rhs = mm.rhs
    names = tuple(r_name(c) for c in rhs.model_spec.column_names)
    if mm.lhs.shape[1] != 1:
        raise EstimationError(
            f"the response of '{formula}' must be one numeric column (it gives "
            f"{mm.lhs.shape[1]} columns: a text column? code it 0/1)"
        )
    y = np.asarray(mm.lhs.iloc[:, 0].to_numpy(), float)
    # column by column into LAPACK's (Fortran) layout: no strided stacking of a tall matrix
    Xd = np.empty(rhs.shape, order="F")
    for j in range(rhs.shape[1]):
        Xd[:, j] = rhs.iloc[:, j].to_numpy(dtype=float)
    return ModelFrame(formula, lhs, y, Xd, names, use, rhs.model_spec)


def r_name(column: str) -> str:
    """formulaic's column name -> R's."""
    if column == "Intercept":
        return "(Intercept)"
    return ":".join(_r_factor(p) for p in _split_top(column, ":"))


_LEVEL = re.compile(r"^(.*)\[(?:T\.)?(.*)\]$", re.S)


def _r_factor(part: str) -> str:
    m = _LEVEL.match(part)
    expr, level = (m.group(1), m.group(2)) if m and _balanced(m.group(1)) else (part, "")
    return r_deparse(expr) + level


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += ch in "(["
        depth -= ch in ")]"
        if depth < 0:
            return False
    return depth == 0


def _split_top(s: str, sep: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


# ---- R's deparse of a (Python-parsed) expression -------------------------------------------------

_BIN = {
    ast.Add: ("+", 4),
    ast.Sub: ("-", 4),
    ast.Mult: ("*", 5),
    ast.Div: ("/", 5),
    ast.Mod: ("%%", 5),
    ast.Pow: ("^", 7),
    ast.BitAnd: ("&", 2),
    ast.BitOr: ("|", 1),
}
_CMP = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


def r_deparse(expr: str) -> str:
    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        return expr
    try:
        return _dep(node)
    except _NoDeparse:
        return expr


class _NoDeparse(Exception):
    pass


def _prec(node) -> int:
    if isinstance(node, ast.BinOp):
        return _BIN.get(type(node.op), ("", 9))[1]
    if isinstance(node, ast.Compare):
        return 3
    if isinstance(node, ast.UnaryOp):
        return 6
    return 10


def _dep(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, float):
            return _num_label(v) if v.is_integer() else format(v, ".15g")
        return str(v)
    if isinstance(node, ast.Attribute):
        return _dep(node.value) + "." + node.attr
    if isinstance(node, ast.Call):
        args = [_dep(a) for a in node.args] + [f"{k.arg} = {_dep(k.value)}" for k in node.keywords]
        return f"{_dep(node.func)}({', '.join(args)})"
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        op, p = _BIN[type(node.op)]
        left, right = _dep(node.left), _dep(node.right)
        if _prec(node.left) < p or (op == "^" and _prec(node.left) <= p):
            left = f"({left})"
        if _prec(node.right) < p or (op != "^" and _prec(node.right) == p and op in "-/%%"):
            right = f"({right})"
        return f"{left}^{right}" if op == "^" else f"{left} {op} {right}"
    if isinstance(node, ast.UnaryOp):
        uop = {ast.USub: "-", ast.UAdd: "+", ast.Not: "!", ast.Invert: "!"}.get(type(node.op))
        if uop is None:
            raise _NoDeparse
        inner = _dep(node.operand)
        return uop + (f"({inner})" if _prec(node.operand) < 6 else inner)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
        return f"{_dep(node.left)} {_CMP[type(node.ops[0])]} {_dep(node.comparators[0])}"
    raise _NoDeparse
