"""Two-way tables with a design-based test of independence (R's svychisq, Rao-Scott corrections).

The r x c cell proportions p are means of cell indicators, so their covariance V comes from the
design as for any proportion (Taylor linearization or replicate weights). Pearson's X^2 is computed
from the weighted table scaled to the number of rows N. Under independence its distribution is
that of sum_k delta_k chi2_1, where delta are the eigenvalues of the generalized design-effect
matrix

    Delta = (C' D^-1 C / N)^-1 (C' D^-1 V D^-1 C),     D = diag(p),

with C a basis of the interaction contrasts: the (r-1)(c-1) interaction columns of the cell design
matrix with the main effects projected out. Two corrections, as R documents them:

* "F" (second order): F = X^2 / tr(Delta) on d0 = tr(Delta)^2 / tr(Delta^2) and d0 * nu degrees of
  freedom, nu the design degrees of freedom (PSUs minus strata; for replicate designs R's degf).
* "Chisq" (first order): X^2 / mean(delta) against chi-square on (r-1)(c-1) df. As R, the statistic
  reported is Pearson's X^2 itself; the correction enters through the p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special  # F and chi-squared tails (the functions scipy.stats calls)

from ..design.base import require_column
from ..errors import EstimationError
from .common import analysis_variable
from .smooth import ratio_stat, evaluate

STATISTICS = ("F", "Chisq")
METHOD = "Pearson's X^2: Rao & Scott adjustment"


@dataclass(frozen=True)
class Crosstab:
    """Cell proportions of a two-way table and the Rao-Scott test of independence."""

    row: str
    col: str
    row_levels: tuple[str, ...]
    col_levels: tuple[str, ...]
    proportions: np.ndarray  # (r, c) estimated cell proportions (summing to 1)
    se: np.ndarray  # (r, c) their standard errors
    statistic: str  # "F" | "Chisq"
    value: float  # F, or Pearson's X^2 for "Chisq" (as R reports it)
    ndf: float
    ddf: float | None
    p_value: float
    pearson: float  # Pearson's X^2 of the weighted table scaled to n rows
    n: int  # rows with both variables observed
    counts: np.ndarray | None = None  # (r, c) weighted counts (R's svytotal of the cells)
    counts_se: np.ndarray | None = None
    row_percent: np.ndarray | None = None  # (r, c) 100 x share of the column level within the row level
    row_percent_se: np.ndarray | None = None
    col_percent: np.ndarray | None = None  # (r, c) 100 x share of the row level within the column level
    col_percent_se: np.ndarray | None = None

    def to_dict(self) -> dict:
        return {
            "row": self.row,
            "col": self.col,
            "row_levels": list(self.row_levels),
            "col_levels": list(self.col_levels),
            "proportions": _matrix(self.proportions),
            "se": _matrix(self.se),
            "test": {
                "statistic": self.statistic,
                "value": _num(self.value),
                "ndf": _num(self.ndf),
                "ddf": _num(self.ddf),
                "p_value": _num(self.p_value),
                "method": METHOD,
            },
            "pearson_chisq": _num(self.pearson),
            "n": int(self.n),
            **{
                k: _matrix(getattr(self, k))
                for k in ("counts", "counts_se", "row_percent", "row_percent_se", "col_percent", "col_percent_se")
                if getattr(self, k) is not None
            },
        }


def crosstab(design, row: str, col: str, *, statistic: str = "F", na_rm: bool = True) -> Crosstab:
    """Design-based two-way table of `row` by `col` and R's svychisq test (statistic "F" or "Chisq").

    Rows missing either variable are left out of the table (R's na.rm = TRUE); with na_rm=False
    and missing values present, the test statistic and p-value are NaN, as in R.
    """
    if statistic not in STATISTICS:
        raise EstimationError(
            f"unknown crosstab statistic '{statistic}'; use one of " + ", ".join(f"'{s}'" for s in STATISTICS)
        )
    if row == col:
        raise EstimationError(f"crosstab needs two different columns (got '{row}' twice)")
    frame = design.data
    for name in (row, col):
        require_column(frame, name, "crosstab")
    rv = analysis_variable(frame, row, numeric=False)
    cv = analysis_variable(frame, col, numeric=False)
    for v in (rv, cv):
        if len(v.levels) < 2:
            found = f"only '{v.levels[0]}'" if v.levels else "no values"
            raise EstimationError(
                f"crosstab column '{v.name}' has {found}: a test of association needs at least 2 levels"
            )
    r, c = len(rv.levels), len(cv.levels)
    missing = rv.missing | cv.missing
    any_missing = bool(missing.any())
    rows = np.flatnonzero(~missing) if any_missing else slice(None)
    n = int(np.count_nonzero(~missing))
    if n == 0:
        raise EstimationError(f"no rows have both '{row}' and '{col}' observed: nothing to tabulate")

    # cell k = i + r * j (row level i, column level j), the order of R's interaction(row, col)
    cells = (rv.level_codes + r * cv.level_codes)[rows]
    K = r * c
    Y = np.zeros((n, K + 1))
    Y[np.arange(n), cells] = 1.0
    Y[:, K] = 1.0
    p, V = evaluate(design, rows, Y, ratio_stat(K))

    N = design.n  # R scales the table to all rows of the design, missing ones included
    pearson = _pearson(p.reshape((r, c), order="F"), N)
    delta = _design_effects(p, V, r, c, N)
    tr = float(np.trace(delta))
    nu = _design_df(design)

    if statistic == "F":
        d0 = tr**2 / float(np.sum(delta * delta.T))
        value = pearson / tr
        ndf, ddf = d0, d0 * nu
        p_value = float(special.fdtrc(ndf, ddf, value))
    else:
        ndf, ddf = float((r - 1) * (c - 1)), None
        value = pearson
        p_value = float(special.chdtrc(ndf, pearson / (tr / delta.shape[0])))
    if any_missing and not na_rm:
        value, p_value = math.nan, math.nan

    se = np.sqrt(np.where(np.diag(V) >= 0, np.diag(V), np.nan))
    more = _margins(design, rows, cells, r, c)
    return Crosstab(
        row=row,
        col=col,
        row_levels=rv.levels,
        col_levels=cv.levels,
        proportions=p.reshape((r, c), order="F"),
        se=se.reshape((r, c), order="F"),
        statistic=statistic,
        value=float(value),
        ndf=float(ndf),
        ddf=None if ddf is None else float(ddf),
        p_value=p_value,
        pearson=float(pearson),
        n=n,
        **more,
    )


def _margins(design, rows, cells: np.ndarray, r: int, c: int) -> dict:
    """Weighted cell counts (R's svytotal of the cell indicators) and row and column percentages
    (100 x R's svyby(~col, ~row, svymean) and svyby(~row, ~col, svymean)), each with its SE: ratios
    of cell totals to row or column totals, linearized (Taylor) or re-evaluated per replicate."""
    K = r * c
    n = len(cells)
    Y = np.zeros((n, K + r + c))
    Y[np.arange(n), cells] = 1.0
    Y[np.arange(n), K + cells % r] = 1.0
    Y[np.arange(n), K + r + cells // r] = 1.0
    ri = K + np.arange(K) % r  # the row total of each cell
    ci = K + r + np.arange(K) // r  # the column total of each cell

    def g(T):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.concatenate([T[:, :K], T[:, :K] / T[:, ri], T[:, :K] / T[:, ci]], axis=1)

    def influence(T, theta, Yr):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.concatenate(
                [
                    Yr[:, :K],
                    (Yr[:, :K] - theta[K : 2 * K] * Yr[:, ri]) / T[ri],
                    (Yr[:, :K] - theta[2 * K :] * Yr[:, ci]) / T[ci],
                ],
                axis=1,
            )

    from .smooth import Smooth

    est, V = evaluate(design, rows, Y, Smooth(g, influence))
    se = np.sqrt(np.where(np.diag(V) >= 0, np.diag(V), np.nan))

    def mat(a):
        return a.reshape((r, c), order="F")

    return {
        "counts": mat(est[:K]),
        "counts_se": mat(se[:K]),
        "row_percent": 100 * mat(est[K : 2 * K]),
        "row_percent_se": 100 * mat(se[K : 2 * K]),
        "col_percent": 100 * mat(est[2 * K :]),
        "col_percent_se": 100 * mat(se[2 * K :]),
    }


# ---- pieces --------------------------------------------------------------------------------------


def _pearson(P: np.ndarray, N: int) -> float:
    """Pearson's X^2 of the table N * P against the product of its margins (R's chisq.test)."""
    obs = N * P
    exp = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / obs.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum((obs - exp) ** 2 / exp))


def _contrasts(r: int, c: int) -> np.ndarray:
    """(rc, (r-1)(c-1)): interaction columns of the saturated cell model, main effects projected out."""
    i = np.tile(np.arange(r), c)  # row level of each cell (rows vary fastest)
    j = np.repeat(np.arange(c), r)  # column level
    R = (i[:, None] == np.arange(1, r)[None, :]).astype(float)
    Cc = (j[:, None] == np.arange(1, c)[None, :]).astype(float)
    X1 = np.column_stack([np.ones(r * c), R, Cc])
    X12 = (R[:, :, None] * Cc[:, None, :]).reshape(r * c, -1)
    coef, *_ = np.linalg.lstsq(X1, X12, rcond=None)
    return X12 - X1 @ coef


def _design_effects(p: np.ndarray, V: np.ndarray, r: int, c: int, N: int) -> np.ndarray:
    """The generalized design-effect matrix Delta ((r-1)(c-1) square)."""
    C = _contrasts(r, c)
    with np.errstate(divide="ignore"):
        dinv = np.where(p == 0, 0.0, 1.0 / p)
    A = C * dinv[:, None]  # D^-1 C
    srs = (C.T @ A) / N  # C' D^-1 C / N: the same contrasts under multinomial sampling
    des = A.T @ V @ A  # C' D^-1 V D^-1 C
    try:
        return np.linalg.solve(srs, des)
    except np.linalg.LinAlgError:
        raise EstimationError(
            "the two-way table has empty rows or columns, so the Rao-Scott design "
            "effects cannot be computed; drop or merge the empty levels"
        ) from None


def _design_df(design) -> float:
    """R's svychisq denominator df: for Taylor designs, distinct PSUs minus distinct strata over all
    rows; for replicate designs the design's degf."""
    return design.sample_degf()


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _matrix(a: np.ndarray) -> list[list]:
    return [[_num(v) for v in row] for row in np.asarray(a, float)]
