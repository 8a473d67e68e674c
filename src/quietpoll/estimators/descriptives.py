"""Design-based variance of a variable (R's svyvar) and weighted counts (R's svytable).

svyvar: the weighted variance with the n/(n - 1) factor, n as R counts it: on a Taylor design the
rows with a non-zero weight (those missing the variable included), on a replicate design the rows
with the variable observed. Its SE is R's: on a Taylor design
the SE of the design-based mean of n/(n-1) (x - xbar)^2 with xbar held fixed (which is the
linearization of the variance at the full sample); on a replicate design the variance recomputed
under every replicate weight (mean included) and combined by the design's scale and rscales. One
statistic of three totals (of (x - m)^2, x - m and 1, m the weighted mean) gives both.

svytable: sums of weights over the cells of one or more columns (rows missing any of them left out,
as xtabs), optionally scaled to a total `ntotal` (R's Ntotal, one number) and rounded (R's round).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..design.base import require_column
from ..errors import EstimationError
from .common import analysis_variable
from .smooth import Smooth, evaluate


def svyvar(design, var: str) -> dict:
    """{"variable", "estimate", "se", "n", "n_missing"}: R's svyvar(~var, design, na.rm = TRUE)."""
    require_column(design.data, var, "svyvar")
    v = analysis_variable(design.data, var, numeric=True)
    rows = np.flatnonzero(~v.missing)
    x = np.asarray(v.values, float)[rows]
    w = np.asarray(design.weights, float)[rows]
    # R's n: on a Taylor design the rows of the whole design with a non-zero weight (missing values
    # of the variable included, as svyvar.survey.design counts them before na.rm); on a replicate
    # design the rows with the variable observed
    n = design.svyvar_n(rows)
    if n < 2:
        raise EstimationError(f"svyvar: '{var}' needs at least 2 observed values with weight, has {n}")
    m = float(w @ x / w.sum())
    xc = x - m
    Y = np.column_stack([xc * xc, xc, np.ones(len(rows))])
    c = n / (n - 1)

    def g(T):
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = T[:, 1] / T[:, 2]
            return (c * (T[:, 0] / T[:, 2] - mean * mean))[:, None]

    def influence(T, theta, Yr):
        return (c * Yr[:, :1] - theta[None, :] * Yr[:, 2:3]) / T[2]

    est, V = evaluate(design, rows, Y, Smooth(g, influence))
    se = math.sqrt(max(float(V[0, 0]), 0.0))
    return {
        "statistic": "variance",
        "variable": var,
        "estimate": float(est[0]),
        "se": se,
        "n": len(rows),
        "n_missing": int(v.missing.sum()),
    }


@dataclass(frozen=True)
class WeightedTable:
    variables: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    counts: np.ndarray  # one axis per variable, levels in R's order

    def to_dict(self) -> dict:
        return {
            "variables": list(self.variables),
            "levels": [list(lv) for lv in self.levels],
            "counts": self.counts.tolist(),
        }


def svytable(design, variables, *, ntotal: float | None = None, round: bool = False) -> WeightedTable:
    """R's svytable(~a + b, design, Ntotal, round): weighted counts of the cells of `variables`."""
    if isinstance(variables, str):
        variables = [variables]
    variables = list(variables)
    if not variables:
        raise EstimationError("svytable needs at least one column")
    vs = []
    for name in variables:
        require_column(design.data, name, "svytable")
        vs.append(analysis_variable(design.data, name, numeric=False))
    missing = np.zeros(design.n, bool)
    for v in vs:
        missing |= v.missing
    rows = np.flatnonzero(~missing)
    shape = tuple(len(v.levels) for v in vs)
    if not all(shape):
        raise EstimationError("svytable: a column has no observed values")
    idx = np.ravel_multi_index(tuple(np.asarray(v.codes)[rows] for v in vs), shape)
    counts = np.bincount(idx, weights=np.asarray(design.weights, float)[rows], minlength=int(np.prod(shape))).reshape(
        shape
    )
    if ntotal is not None:
        if not (float(ntotal) > 0):
            raise EstimationError(f"ntotal must be a positive total, got {ntotal}", param="ntotal")
        counts = counts * float(ntotal) / counts.sum()
    if round:
        counts = np.round(counts)  # R's round: half to even, as numpy
    return WeightedTable(tuple(variables), tuple(tuple(v.levels) for v in vs), counts)
