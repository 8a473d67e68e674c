"""Profile-likelihood interval for a proportion (R's ``svyciprop(method = "likelihood")``).

R fits the survey-weighted intercept-only quasi-binomial model ``svyglm(y ~ 1, family = quasibinomial)``
and takes ``confint(fit, method = "likelihood", ddf = df)``; the interval is expit of the limits for
the intercept.  The recipe, as documented in the survey package (Lumley & Scott's Rao-Scott scaled
likelihood-ratio interval), is:

* prior weights ``W = w / mean(w)`` (the mean over every row of the design the model is fitted on);
  the intercept ``b0`` is found by IRLS exactly as ``glm.fit`` does (same start, same convergence rule);
* ``lambda`` = design variance of the intercept / model-based ("naive") variance of the intercept; the
  design variance is ``var / (p (1 - p))^2`` and the naive one is the inverse of the final IRLS
  information ``sum(W mu (1 - mu))``;
* ``alpha = Phi(t_{df, (1 - level)/2} sqrt(lambda)) / 2`` (normal quantile when df is infinite);
* the scaled deviance ``z(b) = sign(b - b0) sqrt((D(b) - D(b0)) / phi)`` is evaluated on the grid
  ``b0 +- k * delta * se``, ``k = 1, 2, ...`` (at most 9 steps each way, stopping once ``|z| >= zmax``),
  with ``zmax = sqrt(F^{-1}_{1, n-1}(1 - alpha))``, ``delta = zmax / 5``, ``se`` the design standard
  error of the intercept and ``phi`` the survey dispersion (the design-weighted variance, with the
  ``n / (n - 1)`` factor, of the Pearson residuals ``(y - mu) / sqrt(mu (1 - mu))``; survey's Pearson
  residuals carry no weight factor) -- MASS's ``profile.glm`` algorithm;
* the profile is smoothed with a Forsythe-Malcolm-Moler cubic spline through the grid points,
  evaluated at ``3 * (number of points)`` equally spaced abscissae, and the limits are found by linear
  interpolation of that curve at ``-/+ Phi^{-1}(2 alpha)``; a limit outside the profiled range is NaN.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["likelihood_ci", "fmm_spline"]

_EPS = np.finfo(float).eps
_THRESH = 30.0  # R's logit link: eta beyond +-30 is clamped
_MAXIT = 25  # glm.control() defaults
_EPSILON = 1e-8
_MAXSTEPS = 10  # MASS profile.glm default


def _linkinv(eta):
    eta = np.asarray(eta, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(eta)
        mu = e / (1.0 + e)
    return np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, 1.0 - _EPS, mu))


def _mu_eta(eta):
    eta = np.asarray(eta, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(eta)
        d = e / ((1.0 + e) * (1.0 + e))
    return np.where(np.abs(eta) > _THRESH, _EPS, d)


def _deviance(y, mu, wt) -> float:
    """Binomial deviance sum(2 wt (y log(y/mu) + (1-y) log((1-y)/(1-mu)))) for 0/1 y."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(y / mu), 0.0) + np.where(
            y < 1, (1.0 - y) * np.log((1.0 - y) / (1.0 - mu)), 0.0
        )
    return float(np.sum(2.0 * wt * terms))


def _irls_intercept(y, wt) -> tuple[float, float, float, bool]:
    """Intercept-only logistic fit by IRLS with glm.fit's start and stopping rule.

    Returns (b0, deviance at b0, information sum(wt mu (1 - mu)) of the last iteration, converged).
    """
    good = wt > 0
    mu = (wt * y + 0.5) / (wt + 1.0)
    eta = np.log(mu / (1.0 - mu))
    mu = _linkinv(eta)
    devold = _deviance(y, mu, wt)
    b0, info, conv = math.nan, math.nan, False
    for _ in range(_MAXIT):
        me = _mu_eta(eta)
        g = good & (me != 0)
        varmu = mu * (1.0 - mu)
        z = eta[g] + (y[g] - mu[g]) / me[g]
        ww = wt[g] * me[g] ** 2 / varmu[g]  # squared working weights
        info = float(np.sum(ww))
        b0 = float(np.sum(ww * z) / info)
        eta = np.full_like(y, b0)
        mu = _linkinv(eta)
        dev = _deviance(y, mu, wt)
        if not math.isfinite(dev):
            break
        if abs(dev - devold) / (abs(dev) + 0.1) < _EPSILON:
            conv = True
            break
        devold = dev
    return b0, dev, info, conv


def fmm_spline(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """Interpolating cubic spline with Forsythe, Malcolm & Moler's end conditions, evaluated at xout.

    FMM end conditions: on the first (last) interval the spline's third derivative equals that of the
    cubic interpolating the first (last) four points; with three points, that of the parabola (zero).
    With two points the spline is the straight line.  x must be strictly increasing.  Outside
    [x[0], x[-1]] the end pieces are extended.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xout = np.asarray(xout, dtype=float)
    n = len(x)
    if n == 1:
        return np.full_like(xout, y[0])
    h = np.diff(x)
    delta = np.diff(y) / h
    M: np.ndarray = np.zeros(n)  # second derivatives at the knots
    if n >= 3:
        A = np.zeros((n, n))
        r = np.zeros(n)
        i = np.arange(1, n - 1)
        A[i, i - 1] = h[:-1]
        A[i, i] = 2.0 * (h[:-1] + h[1:])
        A[i, i + 1] = h[1:]
        r[i] = 6.0 * (delta[1:] - delta[:-1])
        # third derivative (M[1]-M[0])/h[0] = 6 * third divided difference of the end four points
        A[0, 0], A[0, 1] = -1.0, 1.0
        A[-1, -2], A[-1, -1] = -1.0, 1.0
        if n > 3:
            dd2 = (delta[1:] - delta[:-1]) / (x[2:] - x[:-2])  # second divided differences
            dd3_first = (dd2[1] - dd2[0]) / (x[3] - x[0])
            dd3_last = (dd2[-1] - dd2[-2]) / (x[-1] - x[-4])
            r[0] = 6.0 * dd3_first * h[0]
            r[-1] = 6.0 * dd3_last * h[-1]
        M = np.linalg.solve(A, r)
    k = np.clip(np.searchsorted(x, xout, side="right") - 1, 0, n - 2)
    dx = xout - x[k]
    hk = h[k]
    b = delta[k] - hk * (2.0 * M[k] + M[k + 1]) / 6.0
    c = M[k] / 2.0
    d = (M[k + 1] - M[k]) / (6.0 * hk)
    return y[k] + dx * (b + dx * (c + dx * d))


def _regularize(x, y):
    """Sort by x and average y over tied x (R's regularize.values with ties = mean)."""
    o = np.argsort(x, kind="stable")
    x, y = x[o], y[o]
    ux, inv = np.unique(x, return_inverse=True)
    if len(ux) < len(x):
        y = np.bincount(inv, weights=y) / np.bincount(inv)
        x = ux
    return x, y


def _approx(x, y, xout):
    """Linear interpolation, NaN outside the range of x (R's approx with rule = 1)."""
    x, y = _regularize(np.asarray(x, float), np.asarray(y, float))
    xout = np.asarray(xout, dtype=float)
    out = np.full(xout.shape, np.nan)
    if len(x) < 2:
        return out
    inside = (xout >= x[0]) & (xout <= x[-1])
    j = np.clip(np.searchsorted(x, xout, side="left"), 1, len(x) - 1)
    i = j - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        val = y[i] + (y[j] - y[i]) * ((xout - x[i]) / (x[j] - x[i]))
    val = np.where(xout == x[j], y[j], np.where(xout == x[i], y[i], val))
    out[inside] = val[inside]
    return out


def likelihood_ci(
    y: np.ndarray,
    w: np.ndarray,
    p: float,
    var: float,
    level: float,
    df: float,
    *,
    n_rows: int | None = None,
    prior_mean: float | None = None,
) -> tuple[float, float]:
    """R's ``svyciprop(~y, design, method = "likelihood", level = level, df = df)`` interval.

    y       0/1 values of the analysis-domain rows; w their sampling weights (zero weights allowed);
    p       the weighted mean sum(w y) / sum(w);
    var     the design-based variance of p (svymean's);
    level   confidence level; df design degrees of freedom (inf: normal quantiles).
    n_rows  number of rows of the design R fits the model on, when larger than len(y): R keeps the
            out-of-domain rows with zero weight when subsetting calibrated / post-stratified / pps
            designs, and that count enters the weight normalisation (hence lambda) and the F
            quantile.  Default len(y) (R drops the rows when subsetting an ordinary design).
    prior_mean  the mean sampling weight svyglm rescales the prior weights by, when it is not
            sum(w) / n_rows: with missing values R's svyglm takes the mean over every row of the design,
            the rows with a missing value included, then drops those rows from the fit (the F
            quantile counts the kept rows); its Pearson residuals carry sqrt(prior / sampling) with the
            sampling weights rescaled over the kept rows, which scales the dispersion by
            (sum(w) / n_rows) / prior_mean.

    Returns (nan, nan) where R stops with an error: p = 0 or 1, var = 0 (or not finite), df <= 0,
    a better fit found while profiling, or a profiling step so large (extreme level, small df) that
    the grid reaches +-Inf.  A single limit is NaN where R's is NA (the critical value lies beyond
    the profiled range), and can be exactly 0 or 1 when the grid runs far into the tails, as in R.
    """
    nan = (math.nan, math.nan)
    y = np.asarray(y, dtype=float).ravel()
    w = np.asarray(w, dtype=float).ravel()
    if y.shape != w.shape or len(y) == 0:
        return nan
    n_all = len(y) if n_rows is None else int(n_rows)
    if not (0.0 < p < 1.0) or not math.isfinite(var) or var <= 0 or not (0 < level < 1):
        return nan
    if math.isnan(df) or df <= 0 or n_all < 2:
        return nan
    sw = float(np.sum(w))
    if not sw > 0:
        return nan

    # svyglm: prior weights rescaled to mean one over the design's rows
    mean_kept = sw / n_all
    prior = mean_kept if prior_mean is None else float(prior_mean)
    if not prior > 0:
        return nan
    wt = w / prior
    b0, dev0, info, _ = _irls_intercept(y, wt)  # like R, carry on (glm only warns) if not converged
    if not math.isfinite(b0) or not math.isfinite(dev0):
        return nan
    mu0 = float(_linkinv(b0))

    # design variance of the intercept (svy.varcoef) and the naive model variance
    # survey computes it from the fitted model's estimating function W (y - mu0) / (mu0 (1 - mu0)), and
    # glm's convergence rule leaves mu0 = expit(b0) ~1e-9 away from p: use mu0 in the denominator.
    var_b = var / (mu0 * (1.0 - mu0)) ** 2
    se_b = math.sqrt(var_b)
    lam = var_b * info
    # quasibinomial dispersion in summary.svyglm: svyvar of the Pearson residuals, which survey
    # defines relative to the sampling weights, (y - mu) sqrt(prior / sampling) / sqrt(mu (1 - mu)),
    # and prior = sampling here (svyciprop passes no extra weights)
    pos = w != 0
    n_pos = int(np.sum(pos))
    if n_pos < 2:
        return nan
    r = (y - mu0) / math.sqrt(mu0 * (1.0 - mu0))
    rbar = float(np.sum(w * r) / sw)
    phi = float(np.sum(w * ((r - rbar) ** 2 * n_pos / (n_pos - 1))) / sw) * (mean_kept / prior)
    if not phi > 0:
        return nan

    a = (1.0 - level) / 2.0
    q = special.ndtri(a) if math.isinf(df) else special.stdtrit(df, a)
    alpha = float(special.ndtr(q * math.sqrt(lam))) / 2.0
    # zmax^2 = upper-alpha quantile of F(1, n - 1), by R's route through the beta quantile
    # (scipy's f.isf loses accuracy, then overflows, for the tiny alpha of extreme levels)
    m = n_all - 1
    xb = float(special.betaincinv(m / 2.0, 0.5, alpha))
    zmax = math.sqrt((1.0 / xb - 1.0) * m) if xb > 0 else math.inf
    step_size = zmax / 5.0 * se_b
    if not (math.isfinite(step_size) and step_size > 0):
        return nan  # R: the grid runs to +-Inf and spline() stops ("'from' must be a finite number")

    # profile the scaled deviance (profile.glm): up to maxsteps - 1 steps each way
    b_steps, z_steps = [b0], [0.0]
    for sgn in (-1.0, 1.0):
        z, step = 0.0, 0
        while (step := step + 1) < _MAXSTEPS and abs(z) < zmax:
            bi = b0 + sgn * step * step_size
            dev = _deviance(y, _linkinv(np.full_like(y, bi)), wt)
            zz = (dev - dev0) / phi
            if not zz > -0.001:
                return nan  # R: "profiling has found a better solution" (or NaN deviance)
            z = sgn * math.sqrt(max(zz, 0.0))
            b_steps.append(bi)
            z_steps.append(z)
    bs, zs = np.array(b_steps), np.array(z_steps)
    o = np.argsort(zs, kind="stable")
    bs, zs = bs[o], zs[o]

    # spline(x = beta, y = z): FMM spline on 3 * n equally spaced points, then invert by approx()
    xk, yk = _regularize(bs, zs)
    nout = 3 * len(xk)
    xout = _seq(xk[0], xk[-1], nout)
    sy = fmm_spline(xk, yk, xout)
    cut = float(special.ndtri(2.0 * alpha))
    lims = _approx(sy, xout, np.array([cut, -cut]))
    with np.errstate(over="ignore", invalid="ignore"):
        ci = np.exp(lims) / (1.0 + np.exp(lims))
    return float(ci[0]), float(ci[1])


def _seq(a: float, b: float, n: int) -> np.ndarray:
    """R's seq.int(a, b, length.out = n): a + i (b - a) / (n - 1), the last point set to b."""
    if n == 1:
        return np.array([a])
    out = a + np.arange(n, dtype=float) * ((b - a) / (n - 1))
    out[-1] = b
    return out
