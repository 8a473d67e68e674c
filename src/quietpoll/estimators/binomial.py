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


def _fit(y, pw, start=None, maxit=25, epsilon=1e-8, binary=None):
    """R's glm.fit for y ~ 1, binomial/logit, prior weights pw.

    Returns (beta, working weights of the last step, final mu, iterations). The working weights are a
    per-row array after a first-step stop, else pw times a constant, returned as that float."""
    sw = float(pw.sum())
    swy = float(pw @ y)
    if binary is None:
        binary = bool(np.all((y == 0) | (y == 1)))
    const = 0.0 if binary else _entropy_terms(y, pw)
    if start is None and binary:
        # R starts from mu = (pw y + 0.5)/(pw + 1), so the observed outcome has probability
        # a = (pw + 0.5)/(pw + 1) and eta = +-log(2 pw + 1). The first step's sums then reduce to
        # sum pw a (1 - a) and sum s pw (1 - a)(a log(2 pw + 1) + 1), s = +-1 by outcome.
        inv = 1.0 / (pw + 1)
        a = (pw + 0.5) * inv
        t = (0.5 * pw) * inv  # pw (1 - a)
        lp = np.log(pw + 0.5)
        devold = -2 * float(pw @ (lp + np.log(inv)))
        ww2 = t * a  # pw mu (1 - mu): the first step's working weights
        sign = 2 * y - 1
        first = float((sign * t) @ (a * (lp + math.log(2.0)) + 1) / ww2.sum())
    elif start is None:
        mu = (pw * y + 0.5) / (pw + 1)
        eta = np.log(mu / (1 - mu))
        devold = _deviance_rows(y, mu, pw, const)
        me = _mu_eta(eta)
        ww2 = pw * me**2 / (mu * (1 - mu))
        first = float(ww2 @ (eta + (y - mu) / me) / ww2.sum())
    else:
        first = None
        m0 = float(_linkinv(float(start)))
        devold = const - 2 * (swy * math.log(m0) + (sw - swy) * math.log1p(-m0))
    beta = float(start) if first is None else None
    for it in range(maxit):
        if it == 0 and first is not None:
            beta = first
        else:
            m = float(_linkinv(beta))
            me = float(_mu_eta(beta))
            ww2 = me**2 / (m * (1 - m))  # times pw: the same for every row
            # sum ww2 * (eta + (y - mu)/me) / sum ww2, with mu and eta the same for every row
            beta = float(beta + (swy - sw * m) / (sw * me))
        mu_s = float(_linkinv(beta))
        dev = const - 2 * (swy * math.log(mu_s) + (sw - swy) * math.log1p(-mu_s))
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            break
        devold = dev
    return beta, ww2, mu_s, it + 1


def logit_ci_binary_taylor(
    y: np.ndarray, w: np.ndarray, p: float, V: np.ndarray, level: float, df: float
) -> tuple[float, float] | None:
    """The same interval without a second pass over the design, for a Taylor design.

    After the first IRLS step the working weights are the prior weights times a constant, so R's
    sandwich scores are (A + d B) / mu.eta(beta) with A = w (y - p)/sum(w) (the proportion's own
    linearization), B = w / sum(w) and d = p - mu(beta); V is the 2 x 2 design covariance of the
    totals of A and B. Returns None when the fit stopped after its first step (then the row-level
    working weights are needed: use logit_ci)."""
    if not 0 < p < 1:
        return math.nan, math.nan
    beta, _, mu, iterations = _fit(y, w / w.mean(), binary=True)
    if iterations < 2:
        return None
    d = p - mu
    var = (V[0, 0] + 2 * d * V[0, 1] + d * d * V[1, 1]) / float(_mu_eta(beta)) ** 2
    q = critical(level, df)
    se = math.sqrt(var)
    return float(_linkinv(beta - q * se)), float(_linkinv(beta + q * se))


def logit_ci(design, rows, y: np.ndarray, level: float, df: float) -> tuple[float, float]:
    """svyciprop(method = "logit") for the 0/1 values y of the analysis-domain rows."""
    w = design.weights[rows]
    pw = w / w.mean()
    if not (0 < float(y @ w) < float(w.sum())):
        return math.nan, math.nan
    beta, ww2, mu, _ = _fit(y, pw)

    def influence():
        # the sandwich scores with the last iteration's working weights (svyglm)
        ww = pw * ww2 if isinstance(ww2, float) else ww2
        resid = (y - mu) / float(_mu_eta(beta))
        return (ww * resid / ww.sum())[:, None]

    def reevaluate(rep):
        # refit under every replicate, warm-started at the full-sample coefficient
        W = rep.rep_matrix(rows)
        betas = np.empty(W.shape[1])
        for r in range(W.shape[1]):
            wr = W[:, r]
            betas[r] = _fit(y, wr / wr.sum(), start=beta)[0]
        return betas[:, None]

    var = float(design.vcov(rows, np.array([beta]), influence=influence, reevaluate=reevaluate)[0, 0])
    q = critical(level, df)
    se = math.sqrt(var)
    return float(_linkinv(beta - q * se)), float(_linkinv(beta + q * se))
