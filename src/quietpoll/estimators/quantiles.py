"""Quantiles (R's svyquantile, survey >= 4.1): the "math" rule and Woodruff intervals.

qrule "math": sort by value; the p-quantile is the smallest value whose cumulative weight share
exceeds p, or the value where the share equals p exactly (R's qrule_math).
Woodruff: take the interval for the share of the population at or below the estimate (by the chosen
proportion interval method), and map its ends back through the same rule. For replicate designs the
method "quantile" re-computes the quantile under each replicate weight (R's interval.type="quantile").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import EstimationError
from . import ci as cimod
from .common import Request, analysis_variable, domain_rows, make_row, resolve_df
from .domains import make_domains
from .smooth import ratio_stat, evaluate
from .table import Table

QUANTILE_CI = ("wald", "beta", "xlogit", "logit", "asin", "quantile")


def qrule_math(x: np.ndarray, w: np.ndarray, p: float) -> float:
    order = np.argsort(x, kind="stable")
    return _qrule_sorted(x[order], w[order], p)


def _qrule_sorted(xs: np.ndarray, ws: np.ndarray, p: float) -> float:
    """qrule_math on values already sorted; rows with zero weight drop out first, as in R."""
    nz = ws != 0
    if not nz.all():
        xs, ws = xs[nz], ws[nz]
    # R accumulates sums in long double; the rule compares cumulative shares exactly, so do the same
    cumw = np.cumsum(ws.astype(np.longdouble)).astype(np.float64)
    total = float(np.sum(ws.astype(np.longdouble)))
    below = np.flatnonzero(cumw <= p * total)
    pos = int(below[-1]) if len(below) else 0  # R's last() gives the first row when there is none
    if p - cumw[pos] / total == 0:
        return float(xs[pos])
    return float(xs[min(pos + 1, len(xs) - 1)])


def _qrule_replicates(x: np.ndarray, W: np.ndarray, p: float) -> np.ndarray:
    """qrule_math under every replicate weight column (one sort, then one pass per replicate)."""
    order = np.argsort(x, kind="stable")
    xs, Ws = x[order], W[order]
    return np.array([_qrule_sorted(xs, Ws[:, j], p) for j in range(W.shape[1])])


def quantile(
    design,
    variables: str | Sequence[str],
    probs: Sequence[float] = (0.5,),
    *,
    by=None,
    level: float = 0.95,
    ci_method: str = "wald",
    df="design",
) -> Table:
    """Quantiles with Woodruff intervals (or replicate-quantile intervals, method "quantile")."""
    if ci_method not in QUANTILE_CI:
        raise EstimationError(f"{{ci_method}} for quantiles must be one of {', '.join(QUANTILE_CI)}", param="ci_method")
    probs = [float(p) for p in probs]
    if any(not 0 <= p <= 1 for p in probs):
        raise EstimationError(f"quantile probabilities must be in [0, 1], got {probs}")
    req = Request(level, ci_method, df)
    domains = make_domains(design.data, by)
    names = [v.strip() for v in variables.split(",")] if isinstance(variables, str) else list(variables)
    out = []
    for name in names:
        var = analysis_variable(design.data, name, numeric=True)
        for g in range(domains.count):
            rows, n, n_missing = domain_rows(domains, g, var, design)
            if rows is None:
                continue
            x = var.numbers[rows]
            w = design.weights[rows]
            dfv = resolve_df(design, rows, req.df)
            q = cimod.critical(level, dfv)
            for p in probs:
                qhat = qrule_math(x, w, p)
                if ci_method == "quantile":
                    v = float(
                        design.vcov(
                            rows,
                            np.array([qhat]),
                            what="{ci_method} quantile",
                            reevaluate=lambda rep, x=x, p=p: _qrule_replicates(x, rep.rep_matrix(rows), p)[:, None],
                        )[0, 0]
                    )
                    lo, hi = qhat - q * math.sqrt(v), qhat + q * math.sqrt(v)
                    se = math.sqrt(v)
                else:
                    lo, hi = _woodruff(design, rows, x, w, qhat, level, dfv, n, ci_method)
                    se = (hi - lo) / (2 * q) if math.isfinite(lo) and math.isfinite(hi) else math.nan
                out.append(
                    make_row(
                        "quantile", name, p, domains.labels[g], qhat, se * se, lo, hi, req, dfv, None, n, n_missing
                    )
                )
    return Table(tuple(out), design.describe())


def _woodruff(design, rows, x, w, qhat, level, df, n, method):
    ind = (x <= qhat).astype(float)
    Y = np.column_stack([ind, np.ones_like(ind)])
    theta, V = evaluate(design, rows, Y, ratio_stat(1))
    m, v = float(theta[0]), float(V[0, 0])
    pmethod = {"wald": "wald", "logit": "xlogit"}.get(method, method)
    if pmethod == "beta":  # as R: the design df and the domain's rows, whatever df was asked
        plo, phi = cimod.proportion_ci("beta", m, v, level, design.degf(None if isinstance(rows, slice) else rows), n)
    else:
        plo, phi = cimod.proportion_ci(pmethod, m, v, level, df, n)
    lo = math.nan if (math.isnan(plo) or plo < 0) else qrule_math(x, w, plo)
    hi = math.nan if (math.isnan(phi) or phi > 1) else qrule_math(x, w, phi)
    return lo, hi
