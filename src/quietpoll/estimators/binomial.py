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


def _ylogy(y, mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y != 0, y * np.log(np.where(y != 0, y, 1.0) / mu), 0.0)


def _deviance(y, mu, pw):
    return float(np.sum(2 * pw * (_ylogy(y, mu) + _ylogy(1 - y, 1 - mu))))


def _fit(y, pw, start=None, maxit=25, epsilon=1e-8):
    """R's glm.fit for y ~ 1, binomial/logit, prior weights pw. Returns (beta, last working weights
    (per row), final mu)."""
    if start is None:
        mu = (pw * y + 0.5) / (pw + 1)
        eta = np.log(mu / (1 - mu))
    else:
        eta = np.full(len(y), float(start))
        mu = _linkinv(eta)
    devold = _deviance(y, mu, pw)
    # invariant sums for the scalar iterations
    sw = float(pw.sum())
    swy = float(pw @ y)
    const = float(np.sum(2 * pw * (_ylogy(y, np.ones_like(y)) + _ylogy(1 - y, np.ones_like(y)))))
    beta = None
    ww2 = None
    first = True
    for _ in range(maxit):
        if first:
            me = _mu_eta(eta)
            z = eta + (y - mu) / me
            ww2 = pw * me ** 2 / (mu * (1 - mu))
            beta = float(ww2 @ z / ww2.sum())
            first = False
        else:
            m = float(mu_s)
            me = float(_mu_eta(beta))
            ww2 = pw * me ** 2 / (m * (1 - m))
            # sum ww2 * (eta + (y - mu)/me) / sum ww2, with mu and eta the same for every row
            beta = float(beta + (swy - sw * m) / (sw * me))
        mu_s = float(_linkinv(beta))
        # deviance: const terms in y log y plus the mu terms
        dev = const + float(-2 * (swy * math.log(mu_s) + (sw - swy) * math.log(1 - mu_s)))
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
