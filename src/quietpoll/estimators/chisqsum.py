"""Tail probabilities of a weighted sum of chi-squares, as R's survey package computes them for the
Rao-Scott working likelihood-ratio test (pchisqsum, pFsum and their saddlepoint approximation
`saddle`, Kuonen 1999), step for step: the Satterthwaite approximation first, replaced by the
saddlepoint value when that exists (R's lrt.approximation = "saddlepoint", the default).

Sums over repeated weights (pFsum's ddf copies of -x/ddf) are taken with multiplicities instead of
materialised copies; the root of the saddlepoint equation is found by Brent's method with R's
uniroot tolerance (tol 1e-8; scipy's brentq stops on the same rule as R's zeroin).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special  # tails: the functions scipy.stats calls

EPS = np.finfo(float).eps


def saddle(x: float, lam: np.ndarray, mult: np.ndarray | None = None) -> float:
    """Upper tail P(sum_i mult_i lam_i chi2_1 > x) by the saddlepoint approximation; NaN where R
    gives NA (saddlepoint within 1e-4 of zero)."""
    lam = np.asarray(lam, float)
    m = np.ones_like(lam) if mult is None else np.asarray(mult, float)
    d = float(lam.max())
    lam = lam / d
    x = x / d

    def k0(z):
        return -float(np.sum(m * np.log(1 - 2 * z * lam))) / 2

    def k1(z):
        return float(np.sum(m * lam / (1 - 2 * z * lam)))

    def k2(z):
        return 2 * float(np.sum(m * lam**2 / (1 - 2 * z * lam) ** 2))

    n = float(m.sum())
    if (lam < 0).any():
        lmin = float(np.max(1 / (2 * lam[lam < 0]))) * 0.99999
    elif x > float(np.sum(m * lam)):
        lmin = -0.01
    else:
        lmin = -n / (2 * x)
    lmax = float(np.min(1 / (2 * lam[lam > 0]))) * 0.99999
    z = optimize.brentq(lambda t: k1(t) - x, lmin, lmax, xtol=1e-8, rtol=4 * EPS, maxiter=1000)
    if abs(z) < 1e-4:
        return math.nan
    w = math.copysign(1.0, z) * math.sqrt(2 * (z * x - k0(z)))
    v = z * math.sqrt(k2(z))
    return float(special.ndtr(-(w + math.log(v / w) / w)))


def _satterthwaite(a: np.ndarray) -> tuple[float, float]:
    tr = float(np.mean(a))
    tr2 = float(np.mean(a**2)) / tr**2
    return tr * tr2, len(a) / tr2


def pchisqsum_upper(x: float, a: np.ndarray, method: str = "saddlepoint") -> float:
    """R's pchisqsum(x, rep(1, length(a)), a, lower.tail = FALSE, method)."""
    a = np.asarray(a, float)
    scale, df = _satterthwaite(a)
    guess = float(special.chdtrc(df, x / scale))
    if method == "satterthwaite":
        return guess
    s = saddle(x, a)
    return guess if math.isnan(s) else s


def pfsum_upper(x: float, a: np.ndarray, ddf: float, method: str = "saddlepoint") -> float:
    """R's pFsum(x, rep(1, length(a)), a, ddf, lower.tail = FALSE, method)."""
    if math.isinf(ddf):
        return pchisqsum_upper(x, a, method)
    a = np.asarray(a, float)
    scale, ndf = _satterthwaite(a)
    rval = float(special.fdtrc(ndf, ddf, x / ndf / scale))
    if method == "saddlepoint":
        copies = math.floor(ddf)  # R's rep(-x/ddf, ddf) truncates
        lam = np.append(a, -x / ddf)
        mult = np.append(np.ones(len(a)), copies)
        if copies < 1:
            lam, mult = a, np.ones(len(a))
        s = saddle(0.0, lam, mult)
        if not math.isnan(s):
            rval = s
    return rval
