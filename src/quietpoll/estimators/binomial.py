"""The logit interval for a proportion, as R's svyciprop(method = "logit") computes it: fit the
survey-weighted intercept-only logistic model (quasi-binomial) by R's IRLS (glm.fit: the same
starting values, steps and convergence rule), take the design-based variance of the intercept
(sandwich with the last iteration's working weights, as svyglm does), and back-transform the
t-based Wald interval. Replicate designs refit the model under every replicate weight starting from
the full-sample coefficient, as svyglm does for them.

For an intercept-only model the fitted mean is the same for every row, so after the first step each
IRLS iteration needs only three weighted sums; the first step (R starts from a different mean for
each row) is done row by row.
"""

from __future__ import annotations

import math

import numpy as np

from .ci import critical

_EPS = np.finfo(float).eps
_THRESH = 30.0  # -log(DBL_EPSILON), rounded as R's logit link does


def _linkinv(eta):
    eta = np.asarray(eta, float)
    e = np.exp(eta)
    out = e / (1 + e)
    return np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, 1 - _EPS, out))


def _mu_eta(eta):
    eta = np.asarray(eta, float)
    e = np.exp(eta)
    out = e / ((1 + e) * (1 + e))
    return np.where((eta > _THRESH) | (eta < -_THRESH), _EPS, out)


def _entropy_terms(y, pw) -> float:
    """sum 2 pw (y log y + (1 - y) log(1 - y)): the part of the deviance that does not depend on mu
    (zero for 0/1 data, so only fractional values are visited)."""
    frac = (y != 0) & (y != 1)
    if not frac.any():
        return 0.0
    yf, wf = y[frac], pw[frac]
    return float(np.sum(2 * wf * (yf * np.log(yf) + (1 - yf) * np.log1p(-yf))))


def _deviance_rows(y, mu, pw, const) -> float:
    """Binomial deviance with a mean per row (R's binomial dev.resids summed)."""
    return const - 2 * float(pw @ (y * np.log(mu) + (1 - y) * np.log1p(-mu)))


def _fit(y, pw, start=None, maxit=25, epsilon=1e-8):
    """R's glm.fit for y ~ 1, binomial/logit, prior weights pw. Returns (beta, last working weights
    (per row), final mu)."""
    sw = float(pw.sum())
    swy = float(pw @ y)
    const = _entropy_terms(y, pw)
    binary = const == 0.0 and bool(np.all((y == 0) | (y == 1)))
    if start is None and binary:
        # R's start mu = (pw y + 0.5)/(pw + 1): the observed outcome has probability a = (pw + .5)/(pw + 1)
        # and eta = +-log(2 pw + 1), so one division and two logarithms a row suffice
        a = (pw + 0.5) / (pw + 1)
        devold = -2 * float(pw @ np.log(a))
        eta = np.log(2 * pw + 1) * np.where(y == 1, 1.0, -1.0)
        mu = np.where(y == 1, a, 1 - a)
    elif start is None:
        mu = (pw * y + 0.5) / (pw + 1)
        eta = np.log(mu / (1 - mu))
        devold = _deviance_rows(y, mu, pw, const)
    else:
        beta0 = float(start)
        m0 = float(_linkinv(beta0))
        devold = const - 2 * (swy * math.log(m0) + (sw - swy) * math.log1p(-m0))
    beta = None
    ww2 = None
    for it in range(maxit):
        if it == 0 and start is None and binary:
            me = a * (1 - a)            # mu (1 - mu), the logit link's d mu / d eta, for either outcome
            ww2 = pw * me
            beta = float(ww2 @ (eta + (y - mu) / me) / ww2.sum())
        elif it == 0 and start is None:
            me = _mu_eta(eta)
            z = eta + (y - mu) / me
            ww2 = pw * me ** 2 / (mu * (1 - mu))
            beta = float(ww2 @ z / ww2.sum())
        else:
            b = beta0 if beta is None else beta
            m = float(_linkinv(b))
            me = float(_mu_eta(b))
            ww2 = pw * (me ** 2 / (m * (1 - m)))
            # sum ww2 * (eta + (y - mu)/me) / sum ww2, with mu and eta the same for every row
            beta = float(b + (swy - sw * m) / (sw * me))
        mu_s = float(_linkinv(beta))
        dev = const - 2 * (swy * math.log(mu_s) + (sw - swy) * math.log1p(-mu_s))
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            break
        devold = dev
    return beta, ww2, mu_s


def logit_ci(design, rows, y: np.ndarray, level: float, df: float) -> tuple[float, float]:
    """svyciprop(method = "logit") for the 0/1 values y of the analysis-domain rows."""
    w = design.weights[rows]
    pw = w / w.mean()
    if not (0 < float(y @ w) < float(w.sum())):
        return math.nan, math.nan
    beta, ww2, mu = _fit(y, pw)
    if design.kind == "taylor":
        resid = (y - mu) / float(_mu_eta(beta))
        scores = ww2 * resid / ww2.sum()
        var = float(design.variance(rows, scores[:, None])[0, 0])
    else:
        W = design.rep_matrix(rows)
        betas = np.empty(W.shape[1])
        for r in range(W.shape[1]):
            wr = W[:, r]
            betas[r] = _fit(y, wr / wr.sum(), start=beta)[0]
        var = float(design.rep_variance(betas[:, None], np.array([beta]))[0, 0])
    q = critical(level, df)
    se = math.sqrt(var)
    return float(_linkinv(beta - q * se)), float(_linkinv(beta + q * se))
