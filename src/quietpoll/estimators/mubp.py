"""Measures of unadjusted bias for proportions (MUBP; Andridge, West, Little, Boonstra and
Alvarado-Leiton 2019, JRSS A, "Indices of non-ignorable selection bias for proportions estimated
from non-probability samples"): how far the sample's proportion of a binary outcome may be from the
population's when selection depends on the outcome itself, given auxiliary covariates Z seen in the
sample and the population's means (and, where known, covariances) of Z.

The maximum-likelihood two-step estimator of the paper:
1. the proxy: a probit regression of Y on Z in the sample (unweighted); X = Z' B, the linear
   predictor, with mean xbar_0 and variance s_0 (divisor n) in the sample, and mean xbar_1 = Zbar' B
   and variance s_1 = B' Sigma B in the part of the population not sampled (s_1 = s_0 when no
   covariances are given);
2. the latent U behind Y = 1{U > 0} has mean -w and variance 1 in the sample, w = Phi^-1(1 - ybar);
   its correlation rho with X is the two-step biserial correlation: w held fixed, rho maximizes the
   likelihood sum y log Phi(a + b x) + (1 - y) log Phi(-(a + b x)) with
   a = -(w + rho xbar_0 / sqrt(s_0)) / sqrt(1 - rho^2), b = rho / sqrt(s_0) / sqrt(1 - rho^2),
   over rho in [-0.99, 0.99] (the authors' range);
3. selection depends on (1 - phi) X* + phi U (X* the proxy rescaled to U's variance); with
   g(phi) = (phi + (1 - phi) rho) / (phi rho + 1 - phi) (g(1) = 1 / rho), the non-sampled part has
   U mean m_1 = -w + g (xbar_1 - xbar_0) / sqrt(s_0) and variance v_1 = 1 + g^2 (s_1 - s_0) / s_0
   (floored at machine epsilon, as the authors' code), so its proportion is Phi(m_1 / sqrt(v_1)), the
   population's ybar(phi) = f ybar + (1 - f) Phi(m_1 / sqrt(v_1)) (f = n / N, 0 when N is not
   given), and MUBP(phi) = ybar - ybar(phi).
phi = 0 is selection at random given Z (the bias the covariates explain); phi = 1 selection on the
outcome alone. The range reported is the smallest and largest MUBP over phi in [0, 1] (a grid of 201
values and the points asked for).

With the population size N the population's means and covariances are turned into those of its
non-sampled part (the sample's own moments taken out); without it the population is taken as
non-sampled (a small sampling fraction).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import minimize_scalar
from scipy.special import log_ndtr, ndtr, ndtri

from ..errors import ColumnError, EstimationError
from .mlreg import RowModel, maximize

RHO_BOUND = 0.99


@dataclass(frozen=True)
class MUBPResult:
    outcome: str
    formula: str
    n: int
    sample_mean: float  # ybar
    rho: float  # two-step biserial correlation of U and the proxy
    proxy_sample_mean: float
    proxy_sample_var: float
    proxy_nonsampled_mean: float
    proxy_nonsampled_var: float
    sampling_fraction: float
    phi: tuple[float, ...]
    mubp: tuple[float, ...]  # MUBP(phi) = ybar - ybar(phi)
    mean: tuple[float, ...]  # ybar(phi), the population proportion under phi
    interval: tuple[float, float]
    coef: tuple[float, ...]  # probit coefficients B
    names: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "formula": self.formula,
            "n": self.n,
            "sample_mean": self.sample_mean,
            "rho": self.rho,
            "proxy": {
                "sample_mean": self.proxy_sample_mean,
                "sample_var": self.proxy_sample_var,
                "nonsampled_mean": self.proxy_nonsampled_mean,
                "nonsampled_var": self.proxy_nonsampled_var,
            },
            "sampling_fraction": self.sampling_fraction,
            "rows": [{"phi": p, "mubp": _f(b), "mean": _f(m)} for p, b, m in zip(self.phi, self.mubp, self.mean)],
            "mubp_low": _f(self.interval[0]),
            "mubp_high": _f(self.interval[1]),
            "probit": dict(zip(self.names, self.coef)),
        }


def _f(x: float) -> float | None:
    return x if math.isfinite(x) else None


#: log(sqrt(2 pi)), the constant of scipy.stats.norm.logpdf (scipy's ``_norm_pdf_logC``)
_LOG_SQRT_2PI = float(np.log(np.sqrt(2 * np.pi)))


def norm_logpdf(x: np.ndarray) -> np.ndarray:
    """The standard normal log density, computed as ``scipy.stats.norm.logpdf`` computes it
    (``-x**2 / 2.0 - log(sqrt(2 pi))``, equal as floats; tests/estimators/test_mubp_normal.py), without
    importing scipy.stats (0.5 s)."""
    return -(x**2) / 2.0 - _LOG_SQRT_2PI


def probit_model(X: np.ndarray, y: np.ndarray) -> RowModel:
    q = 2 * y.astype(float) - 1

    def loglik_rows(b):
        return log_ndtr(q * (X @ b))

    def _r(b):
        eta = X @ b
        # r = q phi(q eta) / Phi(q eta) (the inverse Mills ratio, computed on the log scale)
        return eta, q * np.exp(norm_logpdf(q * eta) - log_ndtr(q * eta))

    def score_rows(b):
        _, r = _r(b)
        return X * r[:, None]

    def hessian(b, w):
        eta, r = _r(b)
        return -(X * (w * r * (r + eta))[:, None]).T @ X

    return RowModel(X.shape[1], loglik_rows, score_rows, hessian)


def two_step_rho(x: np.ndarray, y: np.ndarray) -> float:
    """The two-step biserial correlation of the latent U and the proxy x (cut point fixed)."""
    xm, xs = float(x.mean()), math.sqrt(float(((x - x.mean()) ** 2).mean()))
    w = float(ndtri(1 - y.mean()))
    q = 2 * y - 1

    def nll(p):
        s = math.sqrt(1 - p * p)
        a = -(w + xm * p / xs) / s
        b = p / xs / s
        return -float(log_ndtr(q * (a + b * x)).sum())

    res = minimize_scalar(
        nll, bounds=(-RHO_BOUND, RHO_BOUND), method="bounded", options={"xatol": 1e-12, "maxiter": 1000}
    )
    return float(res.x)


def _g(phi: float, rho: float) -> float:
    if phi == 1:
        return 1 / rho if rho != 0 else math.inf
    return (phi + (1 - phi) * rho) / (phi * rho + (1 - phi))


def mubp(
    data: pl.DataFrame,
    formula: str,
    population_means: Mapping[str, float],
    *,
    population_cov: Mapping[str, Mapping[str, float]] | np.ndarray | None = None,
    population_size: float | None = None,
    phi: Sequence[float] = (0.0, 0.5, 1.0),
) -> MUBPResult:
    """MUBP of the proportion of `formula`'s 0/1 outcome (`y ~ z1 + factor(z2)`) at each `phi`, and its
    range over phi in [0, 1]. `population_means` gives the population mean of every model column
    but the intercept, by R's column name (a factor level's column: the population share of that
    level, e.g. `factor(sex)M`); `population_cov` their covariance (a mapping of mappings by the same
    names, or a matrix in model-column order); `population_size` N (optional)."""
    from .formula import model_frame

    if not isinstance(formula, str) or "~" not in formula:
        raise EstimationError(
            f"{{formula}} must be 'y ~ z1 + z2' (the 0/1 outcome, then the auxiliary covariates), got {formula!r}",
            param="formula",
        )
    try:
        mf = model_frame(data, formula)
    except ColumnError as e:
        raise ColumnError("{formula}: " + str(e), param="formula") from None
    return mubp_matrix(
        mf.X,
        list(mf.names),
        mf.y,
        population_means,
        population_cov=population_cov,
        population_size=population_size,
        phi=phi,
        response=mf.response,
        formula=formula,
    )


def mubp_matrix(
    X: np.ndarray,
    names: Sequence[str],
    y: np.ndarray,
    population_means: Mapping[str, float],
    *,
    population_cov: Mapping[str, Mapping[str, float]] | np.ndarray | None = None,
    population_size: float | None = None,
    phi: Sequence[float] = (0.0, 0.5, 1.0),
    response: str = "y",
    formula: str | None = None,
) -> MUBPResult:
    """`mubp` on a model matrix already made: X (n, p) with R's column `names` (an "(Intercept)" among
    them), the 0/1 outcome y; `formula` only labels the result (errors still name the `formula`
    parameter). For callers that hold the covariates' dummy columns and need no formula parser."""
    formula = formula if formula is not None else f"{response} ~ " + " + ".join(n for n in names if n != "(Intercept)")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise EstimationError("{formula}: the outcome '" + response + "' must be 0/1 for MUBP", param="formula")
    names = list(names)
    if "(Intercept)" not in names:
        raise EstimationError("{formula} must keep the intercept for MUBP's probit model", param="formula")
    zcols = [j for j, nm in enumerate(names) if nm != "(Intercept)"]
    if not zcols:
        raise EstimationError("{formula} needs at least one auxiliary covariate", param="formula")
    znames = [names[j] for j in zcols]
    missing = [nm for nm in znames if nm not in population_means]
    if missing:
        raise EstimationError(
            "{population_means} has no mean for the model column '"
            + missing[0]
            + "' (columns: "
            + ", ".join(znames)
            + ")",
            param="population_means",
        )
    zbar_pop = np.array([float(population_means[nm]) for nm in znames])
    if not np.isfinite(zbar_pop).all():
        raise EstimationError("{population_means} must be finite numbers", param="population_means")
    Sigma = _cov(population_cov, znames)
    ybar = float(y.mean())
    n = len(y)
    if ybar in (0.0, 1.0):
        raise EstimationError(
            "{formula}: the outcome is "
            + ("never" if ybar == 0 else "always")
            + " 1 in the sample: MUBP needs both answers",
            param="formula",
        )
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise EstimationError("{formula}: the covariates are collinear (drop a term)", param="formula")
    model = probit_model(X, y)
    B, ok, _ = maximize(model, np.ones(n), np.zeros(X.shape[1]))
    if not ok:
        raise EstimationError(
            "{formula}: the probit model of the outcome did not converge (a covariate separates the outcome?)",
            param="formula",
        )
    x = X @ B
    xm0, xv0 = float(x.mean()), float(((x - x.mean()) ** 2).mean())
    Z = X[:, zcols]
    b = B[zcols]
    f = 0.0
    zbar_ns, Sig_ns = zbar_pop, Sigma
    if population_size is not None:
        N = float(population_size)
        if not (math.isfinite(N) and N > n):
            raise EstimationError(
                "{population_size} must exceed the sample size " + str(n) + f", got {N:g}", param="population_size"
            )
        f = n / N
        zs = Z.mean(axis=0)
        zbar_ns = (N * zbar_pop - n * zs) / (N - n)
        if Sigma is not None:
            Ss = np.cov(Z, rowvar=False, bias=True).reshape(len(zcols), len(zcols))
            ds, dn = zs - zbar_pop, zbar_ns - zbar_pop
            Sig_ns = (N * Sigma - n * Ss - n * np.outer(ds, ds) - (N - n) * np.outer(dn, dn)) / (N - n)
    xm1 = float(B[names.index("(Intercept)")] + zbar_ns @ b)
    xv1 = float(b @ Sig_ns @ b) if Sig_ns is not None else xv0
    if xv0 <= 0:
        raise EstimationError("{formula}: the proxy does not vary in the sample", param="formula")
    rho = two_step_rho(x, y)
    w = float(ndtri(1 - ybar))

    def at(ph: float) -> tuple[float, float]:
        g = _g(ph, rho)
        if not math.isfinite(g):
            return math.nan, math.nan
        m1 = -w + g * (xm1 - xm0) / math.sqrt(xv0)
        v1 = max(1 + g * g * (xv1 - xv0) / xv0, np.finfo(float).eps)
        mean = f * ybar + (1 - f) * float(ndtr(m1 / math.sqrt(v1)))
        return ybar - mean, mean

    phis = tuple(float(p) for p in phi)
    for p in phis:
        if not 0 <= p <= 1:
            raise EstimationError("{phi} values must be in [0, 1], got " + f"{p:g}", param="phi")
    vals = [at(p) for p in phis]
    grid = [at(p)[0] for p in np.linspace(0, 1, 201)] + [v[0] for v in vals]
    grid = [v for v in grid if math.isfinite(v)]
    if abs(rho) < 1e-8:
        warnings.warn(
            "MUBP: the proxy is uncorrelated with the outcome; the bias under phi = 1 is unbounded", stacklevel=2
        )
    interval = (min(grid), max(grid)) if grid else (math.nan, math.nan)
    return MUBPResult(
        response,
        formula,
        n,
        ybar,
        rho,
        xm0,
        xv0,
        xm1,
        xv1,
        f,
        phis,
        tuple(v[0] for v in vals),
        tuple(v[1] for v in vals),
        interval,
        tuple(map(float, B)),
        tuple(names),
    )


def _cov(cov, znames: list[str]) -> np.ndarray | None:
    if cov is None:
        return None
    k = len(znames)
    if isinstance(cov, Mapping):
        try:
            S = np.array([[float(cov[a][b]) for b in znames] for a in znames])
        except (KeyError, TypeError, ValueError):
            raise EstimationError(
                "{population_cov} must give the covariance of every pair of model columns (" + ", ".join(znames) + ")",
                param="population_cov",
            ) from None
    else:
        S = np.asarray(cov, float)
        if S.shape != (k, k):
            raise EstimationError(
                "{population_cov} must be a "
                + f"{k} x {k} matrix in the order "
                + ", ".join(znames)
                + f", got shape {S.shape}",
                param="population_cov",
            )
    if not (np.isfinite(S).all() and np.allclose(S, S.T) and np.linalg.eigvalsh(S).min() >= -1e-10):
        raise EstimationError(
            "{population_cov} must be a symmetric positive semi-definite covariance matrix", param="population_cov"
        )
    return S
