"""Contrasts of estimates with their joint covariance (R's svycontrast), and differences between
domains (svyby(..., covmat = TRUE) + svycontrast).

`contrast(result, spec)` works on any result that exposes `names` (labels), `coef()` and `vcov()`
(a GLM result is adapted: its non-aliased coefficients and `vcov`). A contrast is

- linear: weights by name (a dict), or a vector over `names`; the estimate is c'b, its variance c'Vc;
- nonlinear: an expression over the names, e.g. "exp(b1 - b2)" or "`factor(dom)2` / `(Intercept)`"
  (names that are not Python identifiers in backticks), differentiated exactly by forward-mode
  automatic differentiation (R's svycontrast differentiates symbolically: the same derivative), or
  a Python callable of the coefficient vector, differentiated numerically (Richardson-extrapolated
  central differences);
- several at once: a list, or a dict of label -> contrast; their joint covariance is G V G'.

Expressions are parsed with `ast` and evaluated by walking the tree over a fixed set of node types
and functions: no name outside the estimates and the listed functions, no attribute access, no call
of anything else, so an expression cannot run code.

Degrees of freedom: the result's own (a GLM's residual df, or `df` of a domain result), else
normal intervals; `df=` overrides.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import SupportsFloat, TypeGuard

import numpy as np
from scipy import stats

from ..errors import EstimationError

# ---- the estimates a contrast works on -------------------------------------------------------------


@dataclass(frozen=True)
class Estimates:
    """Labels, point estimates and their joint covariance: what contrasts need."""

    names: tuple[str, ...]
    _coef: np.ndarray
    _vcov: np.ndarray
    df: float = math.inf
    level: float = 0.95

    def coef(self) -> np.ndarray:
        return self._coef

    def vcov(self) -> np.ndarray:
        return self._vcov


def as_estimates(result, df: float | None = None) -> Estimates:
    """The names, coefficients and covariance of `result` (a GLM result, an `Estimates`, or any object
    with `names`, `coef()` and `vcov()`)."""
    if isinstance(result, Estimates):
        est = result
    elif hasattr(result, "aliased") and hasattr(result, "df_residual"):  # a GLM result (quietpoll.glm)
        ok = ~result.aliased
        est = Estimates(
            tuple(n for n, k in zip(result.names, ok) if k),
            result.coef[ok],
            result.vcov,
            float(result.df_residual),
            result.level,
        )
    else:
        for attr in ("names", "coef", "vcov"):
            if not hasattr(result, attr):
                raise EstimationError(
                    f"contrast needs a result with names, coef() and vcov(); {type(result).__name__} has no '{attr}'"
                )
        b = result.coef() if callable(result.coef) else result.coef
        V = result.vcov() if callable(result.vcov) else result.vcov
        d = getattr(result, "df", math.inf)
        d = d() if callable(d) else d
        d = math.inf if d is None else float(np.min(np.asarray(d, float)))
        lev = getattr(result, "level_ci", getattr(result, "level", None))
        lev = float(lev) if _is_number(lev) and 0 < float(lev) < 1 else 0.95  # "level" may be a category
        est = Estimates(tuple(str(n) for n in result.names), np.asarray(b, float), np.asarray(V, float), d, lev)
    b = np.asarray(est.coef(), float).reshape(-1)
    V = np.asarray(est.vcov(), float)
    if V.shape != (len(b), len(b)) or len(est.names) != len(b):
        raise EstimationError(
            f"contrast: {len(est.names)} names, {len(b)} estimates and a {V.shape} covariance do not match"
        )
    if len(set(est.names)) != len(est.names):
        raise EstimationError("contrast: the estimates' names are not unique")
    if df is not None:
        if not (df > 0):
            raise EstimationError(f"df must be positive (or inf), got {df}", param="df")
        est = Estimates(est.names, b, V, float(df), est.level)
    elif est.coef() is not b or est.vcov() is not V:
        est = Estimates(est.names, b, V, est.df, est.level)
    return est


# ---- the contrast result ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContrastResult:
    """Contrasts with their joint covariance; itself a result contrasts can work on."""

    names: tuple[str, ...]
    estimate: np.ndarray
    cov: np.ndarray
    df: float
    level: float

    def coef(self) -> np.ndarray:
        return self.estimate

    def vcov(self) -> np.ndarray:
        return self.cov

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0, None))

    def rows(self, level: float | None = None) -> list[dict]:
        """{"contrast", "estimate", "se", "statistic", "df", "p", "ci_low", "ci_high"} per contrast
        (t on the df, or normal when the df is infinite)."""
        level = self.level if level is None else level
        return [
            dict(contrast=n, **_inference(e, s, self.df, level)) for n, e, s in zip(self.names, self.estimate, self.se)
        ]

    def to_dict(self) -> dict:
        return {
            "contrasts": self.rows(),
            "vcov": [[_num(v) for v in r] for r in self.cov],
            "df": None if math.isinf(self.df) else self.df,
            "level": self.level,
        }


def _inference(est: float, se: float, df: float, level: float) -> dict:
    finite_df = math.isfinite(df)
    if finite_df and df <= 0:
        q = p = math.nan
    else:
        dist = stats.t(df) if finite_df else stats.norm
        q = float(dist.ppf(0.5 + level / 2))
    z = est / se if se > 0 else math.nan
    if math.isfinite(z) and not (finite_df and df <= 0):
        p = float(2 * (stats.t.sf(abs(z), df) if finite_df else stats.norm.sf(abs(z))))
    else:
        p = math.nan
    return {
        "estimate": _num(est),
        "se": _num(se),
        "statistic": _num(z),
        "df": None if not finite_df else float(df),
        "p": _num(p),
        "ci_low": _num(est - q * se),
        "ci_high": _num(est + q * se),
    }


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


# ---- contrasts ----------------------------------------------------------------------------------


def contrast(
    result, spec, *, df: float | None = None, level: float | None = None, replicates: bool = False
) -> ContrastResult:
    """R's svycontrast(result, spec): linear or nonlinear contrasts with delta-method covariance.

    `spec` is a dict name -> weight, a vector over the names, an expression string, a callable of
    the coefficient vector, or a list / dict label -> any of these (several contrasts at once).
    `replicates=True` (a GLM on a replicate design) evaluates the contrasts on every replicate's
    coefficients and combines them by the design's scale and rscales instead (R's svycontrast on an
    svyglm fitted with return.replicates = TRUE); for linear contrasts both give the same."""
    est = as_estimates(result, df)
    b, V = est.coef(), est.vcov()
    items = _items(spec, est.names)
    values, grads = [], []
    for _, one in items:
        v, g = _one(one, est.names, b)
        values.append(v)
        grads.append(g)
    G = np.vstack(grads)
    if replicates:
        reps = getattr(result, "replicates", None)
        des = getattr(result, "design_obj", None)
        if reps is None or des is None:
            raise EstimationError(
                "contrast replicates=True needs a GLM fitted on a replicate design", param="replicates"
            )
        thetas = np.array([[_one(one, est.names, br)[0] for _, one in items] for br in np.asarray(reps, float)])
        cov = np.asarray(
            des.vcov(
                slice(None), np.array(values, float), reevaluate=lambda _d: thetas, what="contrast replicates=True"
            ),
            float,
        ).reshape(len(items), len(items))
    else:
        cov = G @ V @ G.T
    lev = est.level if level is None else float(level)
    if not 0 < lev < 1:
        raise EstimationError(f"level must be between 0 and 1, got {lev}", param="level")
    return ContrastResult(tuple(label for label, _ in items), np.array(values, float), cov, est.df, lev)


def _is_number(x: object) -> TypeGuard[SupportsFloat]:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _items(spec, names) -> list[tuple[str, object]]:
    if isinstance(spec, Mapping):
        if spec and all(_is_number(v) for v in spec.values()):
            return [(_linear_label(spec), dict(spec))]
        if not spec:
            raise EstimationError("contrast: empty specification")
        return [(str(k), v) for k, v in spec.items()]
    if isinstance(spec, str) or callable(spec):
        return [(_label(spec), spec)]
    if isinstance(spec, np.ndarray) or (isinstance(spec, Sequence) and spec and all(_is_number(v) for v in spec)):
        arr = np.asarray(spec, float)
        if arr.ndim == 2:
            return [(f"contrast{i + 1}", row) for i, row in enumerate(arr)]
        return [("contrast", arr)]
    if isinstance(spec, Sequence) and spec:
        return [(_label(s) if isinstance(s, (str, Mapping)) else f"contrast{i + 1}", s) for i, s in enumerate(spec)]
    raise EstimationError(
        f"contrast: cannot read the specification {spec!r} (weights, an expression, a "
        "callable, or a list or dict of these)"
    )


def _label(s) -> str:
    if isinstance(s, str):
        return s
    if isinstance(s, Mapping):
        return _linear_label(s)
    return getattr(s, "__name__", "contrast")


def _linear_label(w: Mapping) -> str:
    parts = []
    for k, v in w.items():
        v = float(v)
        if v == 0:
            continue
        sign = "-" if v < 0 else "+"
        mag = "" if abs(v) == 1 else f"{abs(v):g}*"
        parts.append(f"{sign} {mag}{k}")
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else text


def _one(one, names, b) -> tuple[float, np.ndarray]:
    p = len(names)
    if isinstance(one, Mapping):
        c = np.zeros(p)
        for k, v in one.items():
            if str(k) not in names:
                raise EstimationError(f"contrast: '{k}' is not one of the estimates ({', '.join(names)})")
            if not _is_number(v):
                raise EstimationError(f"contrast: the weight of '{k}' must be a number, got {v!r}")
            c[names.index(str(k))] = float(v)
        return float(c @ b), c
    if isinstance(one, str):
        return _expression(one, names, b)
    if callable(one):
        return _numeric(one, b)
    arr = np.asarray(one, float).reshape(-1)
    if len(arr) != p:
        raise EstimationError(
            f"contrast: a weight vector needs {p} values (one per estimate: {', '.join(names)}), got {len(arr)}"
        )
    return float(arr @ b), arr


def _numeric(f: Callable, b: np.ndarray) -> tuple[float, np.ndarray]:
    """f(b) and its gradient by central differences with one Richardson extrapolation."""
    try:
        v = float(f(b.copy()))
    except Exception as e:  # a user's function: report it as the user's problem
        raise EstimationError(f"contrast: the function failed at the estimates: {e}") from None
    g = np.empty(len(b))
    for j in range(len(b)):
        h = 1e-4 * max(1.0, abs(b[j]))

        def d(step):
            up, dn = b.copy(), b.copy()
            up[j] += step
            dn[j] -= step
            return (float(f(up)) - float(f(dn))) / (2 * step)

        g[j] = (4 * d(h / 2) - d(h)) / 3
    return v, g


# ---- safe expressions with exact derivatives ------------------------------------------------------


class _Dual:
    """A value with its gradient over the estimates (forward-mode automatic differentiation)."""

    __slots__ = ("v", "g")

    def __init__(self, v: float, g: np.ndarray):
        self.v, self.g = v, g


def _const(x: SupportsFloat, p: int) -> _Dual:
    return _Dual(float(x), np.zeros(p))


def _chain(f: Callable[[float], float], df: Callable[[float], float]):
    def apply(x: _Dual) -> _Dual:
        return _Dual(f(x.v), df(x.v) * x.g)

    return apply


def _plogis(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


FUNCTIONS: dict[str, Callable[[_Dual], _Dual]] = {
    "exp": _chain(math.exp, math.exp),
    "log": _chain(math.log, lambda x: 1 / x),
    "log10": _chain(math.log10, lambda x: 1 / (x * math.log(10))),
    "log2": _chain(math.log2, lambda x: 1 / (x * math.log(2))),
    "log1p": _chain(math.log1p, lambda x: 1 / (1 + x)),
    "expm1": _chain(math.expm1, math.exp),
    "sqrt": _chain(math.sqrt, lambda x: 0.5 / math.sqrt(x)),
    "abs": _chain(abs, lambda x: math.copysign(1.0, x)),
    "sin": _chain(math.sin, math.cos),
    "cos": _chain(math.cos, lambda x: -math.sin(x)),
    "tan": _chain(math.tan, lambda x: 1 / math.cos(x) ** 2),
    "atan": _chain(math.atan, lambda x: 1 / (1 + x * x)),
    "plogis": _chain(_plogis, lambda x: _plogis(x) * (1 - _plogis(x))),
    "expit": _chain(_plogis, lambda x: _plogis(x) * (1 - _plogis(x))),
    "qlogis": _chain(lambda x: math.log(x / (1 - x)), lambda x: 1 / (x * (1 - x))),
    "logit": _chain(lambda x: math.log(x / (1 - x)), lambda x: 1 / (x * (1 - x))),
}
_BACKTICK = re.compile(r"`([^`]*)`")


def _expression(text: str, names: Sequence[str], b: np.ndarray) -> tuple[float, np.ndarray]:
    """Value and exact gradient of an expression over the named estimates."""
    quoted: dict[str, str] = {}

    def sub(m):
        key = f"_qp_name_{len(quoted)}"
        quoted[key] = m.group(1)
        return key

    src = _BACKTICK.sub(sub, text.strip())
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        raise EstimationError(
            f"contrast: cannot read the expression '{text}' (quote names that are not "
            "plain identifiers in backticks, e.g. `factor(dom)2`)"
        ) from None
    p = len(names)
    index = {n: i for i, n in enumerate(names)}

    def var(name: str) -> _Dual:
        if name not in index:
            raise EstimationError(f"contrast: '{name}' in '{text}' is not one of the estimates ({', '.join(names)})")
        g = np.zeros(p)
        g[index[name]] = 1.0
        return _Dual(float(b[index[name]]), g)

    def dotted(node) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            base = dotted(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def ev(node) -> _Dual:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and _is_number(node.value):
            return _const(node.value, p)
        if isinstance(node, ast.Name):
            return var(quoted.get(node.id, node.id))
        if isinstance(node, ast.Attribute):  # R names with dots, e.g. avg.ed
            name = dotted(node)
            if name is not None:
                return var(name)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x = ev(node.operand)
            return _Dual(-x.v, -x.g) if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitXor)
        ):
            x, y = ev(node.left), ev(node.right)
            op = node.op
            if isinstance(op, ast.Add):
                return _Dual(x.v + y.v, x.g + y.g)
            if isinstance(op, ast.Sub):
                return _Dual(x.v - y.v, x.g - y.g)
            if isinstance(op, ast.Mult):
                return _Dual(x.v * y.v, y.v * x.g + x.v * y.g)
            if isinstance(op, ast.Div):
                return _Dual(x.v / y.v, (x.g * y.v - x.v * y.g) / (y.v * y.v))
            return _power(x, y)  # ** or R's ^
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS
            and not node.keywords
            and len(node.args) == 1
        ):
            return FUNCTIONS[node.func.id](ev(node.args[0]))
        raise EstimationError(
            f"contrast: '{ast.unparse(node)}' is not allowed in an expression (numbers, "
            "estimate names, + - * / ^ and the functions " + ", ".join(FUNCTIONS) + ")"
        )

    try:
        out = ev(tree)
    except (ZeroDivisionError, ValueError, OverflowError) as e:
        raise EstimationError(f"contrast: '{text}' cannot be evaluated at the estimates ({e})") from None
    return out.v, out.g


def _power(x: _Dual, y: _Dual) -> _Dual:
    v = x.v**y.v
    g = y.v * x.v ** (y.v - 1) * x.g if np.any(x.g) else 0 * x.g
    if np.any(y.g):
        g = g + v * math.log(x.v) * y.g
    return _Dual(float(v), g)


# ---- differences between domains ------------------------------------------------------------------


def compare_domains(
    result, reference: str | None = None, *, level: float | None = None, df: float | None = None
) -> list[dict]:
    """Each domain minus the reference domain (default: the first), from domain estimates with their
    joint covariance (R's svyby(..., covmat = TRUE) + svycontrast). Rows: {"statistic": "difference",
    "domain", "reference", "estimate", "se", "t", "ci_low", "ci_high", "level_ci", "df", "p"}."""
    est = as_estimates(result, df)
    names = list(est.names)
    if len(names) < 2:
        raise EstimationError("compare needs at least two domains")
    ref = names[0] if reference is None else str(reference)
    if ref not in names:
        raise EstimationError(
            f"compare: reference '{ref}' is not one of the domains ({', '.join(names)})", param="reference"
        )
    others = [n for n in names if n != ref]
    spec = {n: {n: 1.0, ref: -1.0} for n in others}
    res = contrast(est, spec, level=level)
    rows = []
    for n, r in zip(others, res.rows()):
        rows.append(
            {
                "statistic": "difference",
                "domain": n,
                "reference": ref,
                "estimate": r["estimate"],
                "se": r["se"],
                "t": r["statistic"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "level_ci": res.level,
                "df": r["df"],
                "p": r["p"],
            }
        )
    return rows
