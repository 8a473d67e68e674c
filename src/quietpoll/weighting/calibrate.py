"""Calibration (generalised raking) as R's survey::calibrate / grake.

The calibrated weights are ``w * g`` with ``g = 1 + F(X eta)`` and eta chosen so that
``sum(w * g * X) = population``. F is the calibration function:

- ``linear``  g = clip(1 + u, L, U)          (chi-squared distance; unbounded = GREG)
- ``raking``  g = clip(exp(u), L, U)          (multiplicative, the limit of iterative raking)
- ``logit``   g = (L(U-1) + U(1-L) e^{Au}) / (U - 1 + (1-L) e^{Au}), A = (U-L)/((U-1)(1-L))

Newton iteration exactly as R's grake: start at eta = 0; each step solves
``T deta = misfit`` with ``T = X' diag(w F'(X eta)) X`` via the Moore-Penrose inverse
(singular values below 256 * machine epsilon * the largest dropped), halves the step while g or
F' is not finite, and stops when every ``|misfit_k| / (1 + |population_k|) < epsilon``. After
``maxit`` Newton steps without that, calibration has failed. When every population/sample total
ratio exceeds 20, the weights are first multiplied by the mean ratio (R does the same; bounds then
apply to the rescaled weights) and g is multiplied back at the end.

Unbounded linear calibration is solved directly (R's regcalibrate): one linear system.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ..errors import WeightingError
from .modelmatrix import ModelMatrix, from_codes
from .targets import Margin, margin_codes

__all__ = ["model_matrix", "grake", "calibrate_replicates", "GrakeResult", "grake_fit"]

_SOMETHRESHOLD = 20.0


def model_matrix(
    frame: pl.DataFrame, margins: Sequence[Margin], *, population: float | None = None
) -> tuple[ModelMatrix, np.ndarray]:
    """X like R's model.matrix(~ cat1 + cat2 + ... + num1 + ...), as a ModelMatrix (kept as codes): intercept,
    treatment dummies (first level dropped) for each categorical margin in the order given, then the numeric columns;
    and the population vector in the same order (intercept = total population)."""
    cats = [m for m in margins if m.kind == "categorical"]
    nums = [m for m in margins if m.kind != "categorical"]
    n = frame.height
    if cats:
        N = cats[0].total
    elif population is not None:
        N = float(population)
    else:
        raise WeightingError(
            "calibrating only to numeric totals needs the population size; give [weighting] population = N"
        )
    pop = [N]
    cat_codes = []
    for m in cats:
        k = len(m.levels)
        if k > 1:
            cat_codes.append((margin_codes(frame, m), k))
            pop.extend(m.totals[1:].tolist())
    num_cols = []
    for m in nums:
        x = frame.get_column(m.variable).cast(pl.Float64).to_numpy()
        if not np.isfinite(x.sum()) and np.isnan(x).any():  # one sum, no n-long mask, when all is well
            raise WeightingError(
                f"weighting variable '{m.variable}' has missing values; impute or drop those rows before weighting"
            )
        num_cols.append(x)
        pop.append(float(m.totals[0]))
    return from_codes(n, cat_codes, num_cols), np.asarray(pop, dtype=float)


# ---- calibration functions: (F - 1 is R's Fm1, dF its derivative) ------------------------------
def _fm1(calfun: str, u: np.ndarray, L: float, U: float) -> np.ndarray:
    if calfun == "linear":
        return np.minimum(np.maximum(u + 1.0, L), U) - 1.0
    if calfun == "raking":
        with np.errstate(over="ignore"):
            return np.minimum(np.maximum(np.exp(u), L), U) - 1.0
    A = (U - L) / ((U - 1.0) * (1.0 - L))
    with np.errstate(over="ignore", invalid="ignore"):
        eAu = np.exp(A * u)
        return (L * (U - 1.0) + U * (1.0 - L) * eAu) / (U - 1.0 + (1.0 - L) * eAu) - 1.0


def _df(calfun: str, u: np.ndarray, L: float, U: float) -> np.ndarray:
    inside = (u < U - 1.0) & (u > L - 1.0)  # R compares u itself with the bounds minus 1
    if calfun == "linear":
        return inside.astype(float)
    if calfun == "raking":
        with np.errstate(over="ignore"):
            return np.where(inside, np.exp(u), 0.0)
    A = (U - L) / ((U - 1.0) * (1.0 - L))
    with np.errstate(over="ignore", invalid="ignore"):
        eAu = np.exp(A * u)
        den = U - 1.0 + (1.0 - L) * eAu
        return U * (1.0 - L) * eAu * A / den - ((L * (U - 1.0) + U * (1.0 - L) * eAu) * ((1.0 - L) * eAu * A)) / den**2


def _check(calfun: str, bounds) -> tuple[float, float]:
    if calfun not in ("linear", "raking", "logit"):
        raise WeightingError(f"calibration function '{calfun}' is not one of linear, raking, logit")
    L, U = (float(bounds[0]), float(bounds[1]))
    if not L < U:
        raise WeightingError(f"calibration bounds ({L:g}, {U:g}) are not increasing; give lower < upper")
    if calfun == "logit":
        if not (np.isfinite(L) and np.isfinite(U)):
            raise WeightingError(
                "logit calibration needs finite bounds; give bounds = [lower, upper] with lower < 1 < upper"
            )
        if not (L < 1.0 < U):
            raise WeightingError(f"logit calibration bounds ({L:g}, {U:g}) must satisfy lower < 1 < upper")
    return L, U


class GrakeResult:
    """g-weights with R's bookkeeping: iterations used, achieved max relative misfit, success."""

    __slots__ = ("g", "eta", "iterations", "achieved", "converged")

    def __init__(self, g, eta, iterations, achieved, converged):
        self.g, self.eta, self.iterations, self.achieved, self.converged = g, eta, iterations, achieved, converged


def grake_fit(
    X: np.ndarray,
    w: np.ndarray,
    population: np.ndarray,
    calfun: str = "linear",
    bounds=(-np.inf, np.inf),
    epsilon=1e-7,
    maxit: int = 50,
) -> GrakeResult:
    """R's grake, returning the last iterate even when it did not converge."""
    if not isinstance(X, ModelMatrix):
        X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    pop = np.asarray(population, dtype=float)
    L, U = _check(calfun, bounds)
    if X.ndim != 2 or X.shape[0] != w.shape[0] or X.shape[1] != pop.shape[0]:
        raise WeightingError(
            f"calibration: X has shape {X.shape}, weights {w.shape}, population {pop.shape}; they do not fit together"
        )
    eps = np.asarray(epsilon, dtype=float)
    if calfun == "linear" and not np.isfinite(L) and not np.isfinite(U):
        return _regcalibrate(X, w, pop)
    sample_total = X.T @ w
    scale = None
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = pop / sample_total
    if np.min(scales) > _SOMETHRESHOLD:
        scale = float(np.mean(scales))
        w = w * scale
        sample_total = sample_total * scale
    eta = np.zeros(X.shape[1])
    xeta = X @ eta
    g = 1.0 + _fm1(calfun, xeta, L, U)
    deriv = _df(calfun, xeta, L, U)
    it = 1
    achieved = np.inf
    converged = False
    while True:
        T = _xtwx(X, w * deriv)
        misfit = pop - sample_total - X.T @ (w * _fm1(calfun, xeta, L, U))
        deta = np.linalg.pinv(T, rcond=256 * np.finfo(float).eps) @ misfit
        eta = eta + deta
        xeta = X @ eta
        g = 1.0 + _fm1(calfun, xeta, L, U)
        deriv = _df(calfun, xeta, L, U)
        while it < maxit and not (np.all(np.isfinite(g)) and np.all(np.isfinite(deriv))):
            it += 1
            deta = deta / 2.0
            eta = eta - deta
            xeta = X @ eta
            g = 1.0 + _fm1(calfun, xeta, L, U)
            deriv = _df(calfun, xeta, L, U)
        misfit = pop - sample_total - X.T @ (w * _fm1(calfun, xeta, L, U))
        rel = np.abs(misfit) / (1.0 + np.abs(pop))
        achieved = float(np.max(rel)) if np.all(np.isfinite(rel)) else np.inf
        if np.all(rel < eps):
            converged = True
            break
        it += 1
        if it > maxit:
            break
    if scale is not None:
        g = g * scale
    return GrakeResult(g, eta, it, achieved, converged)


def _xtwx(X: np.ndarray, w: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """X' diag(w) X in blocks of rows: no n x p temporary (the model matrix can be large)."""
    if isinstance(X, ModelMatrix):
        return X.xtwx(w)
    p = X.shape[1]
    T = np.zeros((p, p))
    for start in range(0, X.shape[0], block):  # a loop over blocks of 65,536 rows, not over rows
        Xb = X[start : start + block]
        T += (Xb * w[start : start + block, None]).T @ Xb
    return T


def _regcalibrate(X, w, pop) -> GrakeResult:
    T = _xtwx(X, w)
    # a ModelMatrix has an intercept first, so the first row of X' W X is X' w: no second pass
    sample_total = T[0].copy() if isinstance(X, ModelMatrix) else X.T @ w
    try:
        lam = np.linalg.solve(T, pop - sample_total)
    except np.linalg.LinAlgError:
        raise WeightingError(
            "calibration variables are collinear in the sample (a level or combination "
            "with no respondents?); drop or merge the redundant targets"
        )
    g = X @ lam
    g += 1.0
    return GrakeResult(g, lam, 1, 0.0, True)


def grake(
    X: np.ndarray,
    w: np.ndarray,
    population: np.ndarray,
    calfun: str = "linear",
    bounds=(-np.inf, np.inf),
    epsilon=1e-7,
    maxit: int = 50,
) -> np.ndarray:
    """g-weights as R's survey:::grake (unbounded linear: R's regcalibrate); new weights = w * g."""
    res = grake_fit(X, w, population, calfun=calfun, bounds=bounds, epsilon=epsilon, maxit=maxit)
    if not res.converged:
        raise WeightingError(
            f"calibration did not converge in {maxit} iterations; largest remaining misfit is "
            f"{res.achieved:.3g} of a target (epsilon {float(np.max(epsilon)):g}): widen the bounds, "
            "merge sparse levels or raise maxit"
        )
    return res.g


def calibrate_replicates(
    X: np.ndarray,
    W: np.ndarray,
    population: np.ndarray,
    calfun: str = "linear",
    bounds=(-np.inf, np.inf),
    epsilon=1e-7,
    maxit: int = 50,
    *,
    allow_nonconvergence: bool = True,
) -> tuple[np.ndarray, list[int]]:
    """Each replicate column of W (combined replicate weights) calibrated afresh to the same
    population, as R's calibrate() on a replicate design: returns (new replicate weights, indices of
    replicates whose iteration did not converge). R only warns for such replicates and keeps the
    last iterate; ``allow_nonconvergence=False`` raises instead."""
    W = np.asarray(W, dtype=float)
    out = np.empty_like(W)
    failed: list[int] = []
    for r in range(W.shape[1]):  # a loop over replicates; each fit is vectorised over rows
        res = grake_fit(X, W[:, r], population, calfun=calfun, bounds=bounds, epsilon=epsilon, maxit=maxit)
        if not res.converged:
            failed.append(r)
        out[:, r] = W[:, r] * res.g
    if failed and not allow_nonconvergence:
        raise WeightingError(
            f"calibration of replicate(s) {', '.join(str(r + 1) for r in failed[:5])} did not "
            f"converge in {maxit} iterations; widen the bounds or merge sparse levels"
        )
    return out, failed
