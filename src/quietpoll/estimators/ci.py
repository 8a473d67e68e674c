"""Confidence intervals for design-based estimates (R's confint / svyciprop), with t quantiles on the
design degrees of freedom unless df is infinite.

wald      est +- t se                                      (any statistic; svyciprop "mean")
logit     expit(logit p +- t se / (p (1 - p)))             (svyciprop "logit": a survey-weighted
                                                            intercept-only logistic model, Wald scale)
xlogit    the same interval reached by the delta method    (svyciprop "xlogit")
asin      sin^2(asin sqrt p +- t se / (2 sqrt(p (1 - p))))  (svyciprop "asin")
beta      Korn-Graubard: Clopper-Pearson with the effective sample size p(1-p)/var, times
          (t_{n-1} / t_df)^2                               (svyciprop "beta")
wilson    Wilson score interval with the effective sample size p(1-p)/var and t_df quantile
          (published formula; R's survey 4.1 has no Wilson method)
likelihood the profile-likelihood interval of the quasi-binomial model, with the Rao-Scott
          scaling of the level (svyciprop "likelihood"); see likelihood.py
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special  # t, normal and beta quantiles (scipy.stats uses the same functions)

from ..errors import EstimationError

CI_METHODS = ("wald", "logit", "likelihood", "beta", "xlogit", "asin", "wilson")
PROPORTION_ONLY = ("logit", "likelihood", "beta", "xlogit", "asin", "wilson")


def critical(level: float, df: float) -> float:
    """Two-sided critical value: t on df degrees of freedom, normal when df is infinite."""
    a = (1 - level) / 2
    if math.isinf(df):
        return float(special.ndtri(1 - a))
    if df <= 0:
        return math.nan
    return float(special.stdtrit(df, 1 - a))


def check_method(method: str) -> str:
    if method not in CI_METHODS:
        raise EstimationError(
            f"{{ci_method}} must be one of {', '.join(CI_METHODS)}, got '{method}'", param="ci_method"
        )
    return method


def wald(est: float, se: float, level: float, df: float) -> tuple[float, float]:
    q = critical(level, df)
    return est - q * se, est + q * se


def proportion_ci(
    method: str, p: float, var: float, level: float, df: float, n: int, likelihood=None
) -> tuple[float, float]:
    """Interval for a proportion p with design variance var, by `method`.

    `n` is the number of rows in the analysis domain (for beta's df adjustment); `likelihood` is a
    callable giving the likelihood interval (it needs the data, so the estimator supplies it).
    """
    se = math.sqrt(var) if var >= 0 else math.nan
    q = critical(level, df)
    if method == "wald":
        return p - q * se, p + q * se
    if method in ("logit", "xlogit"):
        with np.errstate(all="ignore"):
            eta = math.log(p / (1 - p)) if 0 < p < 1 else (math.inf if p >= 1 else -math.inf)
            s = se / (p * (1 - p)) if 0 < p < 1 else math.inf
        if not math.isfinite(eta) or not math.isfinite(s):
            return math.nan, math.nan
        return _expit(eta - q * s), _expit(eta + q * s)
    if method == "asin":
        if not 0 < p < 1:
            return math.nan, math.nan
        t = math.asin(math.sqrt(p))
        s = se / (2 * math.sqrt(p * (1 - p)))
        return math.sin(t - q * s) ** 2, math.sin(t + q * s) ** 2
    if method == "beta":
        a = (1 - level) / 2
        with np.errstate(all="ignore"):
            n_eff = p * (1 - p) / var if var > 0 else math.inf
        if not math.isinf(df):
            n_eff *= (special.stdtrit(n - 1, a) / special.stdtrit(df, a)) ** 2
        lo = _qbeta(a, n_eff * p, n_eff * (1 - p) + 1)
        hi = _qbeta(1 - a, n_eff * p + 1, n_eff * (1 - p))
        return lo, hi
    if method == "wilson":
        if var <= 0 or not 0 <= p <= 1:
            return (p, p) if var == 0 else (math.nan, math.nan)
        n_eff = p * (1 - p) / var
        if n_eff <= 0:
            return math.nan, math.nan
        z2 = q * q
        centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
        half = q * math.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff * n_eff)) / (1 + z2 / n_eff)
        return centre - half, centre + half
    if method == "likelihood":
        if likelihood is None:
            raise EstimationError("the likelihood interval is only available for proportions")
        return likelihood(level, df)
    raise EstimationError(f"unknown ci method '{method}'")


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _qbeta(q: float, a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a <= 0:
        return 0.0
    if b <= 0:
        return 1.0
    if math.isinf(a) or math.isinf(b):
        return a / (a + b) if math.isfinite(a + b) else math.nan
    return float(special.betaincinv(a, b, q))
