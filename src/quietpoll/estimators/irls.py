"""Iteratively reweighted least squares exactly as R's `glm.fit` runs it: the same start
(`family$initialize`, or given coefficients), the same working response and weights, the same
rank-revealing least squares (columns whose residual norm falls below 1e-11 of their own norm are
aliased, in column order, as LINPACK's dqrdc2), the same step halving and the same stopping rule
|dev - dev_old| / (|dev| + 0.1) < 1e-8, so coefficients agree with R's to rounding.

`fit_one` is one problem on dense X by QR; `fit_many` runs K problems (replicate weights) at once on
a well-conditioned basis, row block by row block, with the normal equations formed as one matrix
product per block; problems stop individually, as separate glm.fit calls would.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import EstimationError
from .families import EPS, Family

EPSILON, MAXIT, QR_TOL = 1e-8, 25, 1e-11


@dataclass(frozen=True)
class IRLSFit:
    coef: np.ndarray        # (p,), 0 for aliased columns (NA in R)
    aliased: np.ndarray     # (p,) bool
    eta: np.ndarray
    mu: np.ndarray
    working_weights: np.ndarray   # prior * mu.eta^2 / V at the last iteration's start (R's glm$weights)
    R: np.ndarray           # (k, k) triangular factor of sqrt(W) X[:, ~aliased] at the last iteration
    iterations: int
    converged: bool
    boundary: bool


def _wls(X: np.ndarray, w: np.ndarray, z: np.ndarray, tol: float = QR_TOL):
    """Least squares of z on X with row weights w (sqrt of the working weights), with R's limited
    pivoting: coefficients (0 where aliased), aliased mask, R factor of the kept columns."""
    n, p = X.shape
    A = np.empty((n, p + 1), order="F")        # LAPACK's layout: no copy inside qr
    np.multiply(X, w[:, None], out=A[:, :p])
    np.multiply(z, w, out=A[:, p])
    norms = np.sqrt(np.einsum("ij,ij->j", A[:, :p], A[:, :p]))
    keep = np.ones(p, bool)
    while True:
        cols = np.flatnonzero(keep)
        B = A if len(cols) == p else np.asfortranarray(A[:, np.append(cols, p)])
        Rfull = np.linalg.qr(B, mode="r")
        diag = np.abs(np.diag(Rfull)[: len(cols)])
        small = (diag < tol * np.where(norms[cols] > 0, norms[cols], 1.0)) | (norms[cols] == 0)
        if not small.any():
            break
        keep[cols[np.flatnonzero(small)[0]]] = False
        if not keep.any():
            break
    k = len(cols)
    coef = np.zeros(p)
    if k:
        coef[cols] = np.linalg.solve(Rfull[:k, :k], Rfull[:k, k])
    return coef, ~keep, Rfull[:k, :k]


def fit_one(X, y, prior, family: Family, start=None, *, warn: bool = True) -> IRLSFit:
    """R's glm.fit(X, y, weights = prior, start = start, family = family)."""
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        return _fit_one(X, y, prior, family, start, warn)


def _fit_one(X, y, prior, family, start, warn) -> IRLSFit:
    n, p = X.shape
    if start is None:
        eta = family.linkfun(family.mustart(y, prior))
        coefold = None
    else:
        coefold = np.asarray(start, float)
        eta = X @ coefold
    mu = family.linkinv(eta)
    if not (family.validmu(mu) and family.valideta(eta)):
        raise EstimationError(f"cannot find valid starting values for family {family.name}: give a "
                              "response inside the family's range")
    devold = float(family.dev_resids(y, mu, prior).sum())
    boundary = conv = False
    coef = np.zeros(p) if coefold is None else coefold
    it = 0
    identity = family.link == "identity" and family.name == "gaussian"
    last = None
    for it in range(1, MAXIT + 1):
        mu_eta = family.mu_eta(eta)
        good = (prior > 0) & (mu_eta != 0)
        if not good.any():
            break
        var = family.variance(mu)
        if good.all():
            z = eta + (y - mu) / mu_eta
            w = np.sqrt(prior * mu_eta ** 2 / var)
            Xg = X
        else:
            z = eta[good] + (y - mu)[good] / mu_eta[good]
            w = np.sqrt(prior[good] * mu_eta[good] ** 2 / var[good])
            Xg = X[good]
        if identity and last is not None:
            # gaussian with the identity link: every iteration solves the same weighted least-squares
            # problem (z = y, same weights); R's second pass differs from its first only by rounding
            new, aliased, Rk = last
        else:
            new, aliased, Rk = _wls(Xg, w, z)
            last = (new, aliased, Rk)
        if not np.isfinite(new).all():
            warnings.warn(f"non-finite coefficients at iteration {it}", stacklevel=3)
            break
        ww = np.zeros(n)
        ww[good] = w * w
        start_ = new
        eta = X @ start_
        mu = family.linkinv(eta)
        dev = float(family.dev_resids(y, mu, prior).sum())
        boundary = False
        if not np.isfinite(dev) or not (family.valideta(eta) and family.validmu(mu)):
            if coefold is None:
                raise EstimationError("no valid set of coefficients has been found (R: please supply "
                                      "starting values)")
            for _ in range(MAXIT):
                start_ = (start_ + coefold) / 2
                eta = X @ start_
                mu = family.linkinv(eta)
                dev = float(family.dev_resids(y, mu, prior).sum())
                if np.isfinite(dev) and family.valideta(eta) and family.validmu(mu):
                    break
            else:
                raise EstimationError("the fit cannot correct its step size (R: inner loop; cannot correct "
                                      "step size)")
            boundary = True
        coef = start_
        if abs(dev - devold) / (abs(dev) + 0.1) < EPSILON:
            conv = True
            break
        devold, coefold = dev, start_
    if warn:
        _warnings(family, mu[prior > 0], conv, boundary)
    return IRLSFit(coef, aliased, eta, mu, ww, Rk, it, conv, boundary)


def _warnings(family, mu, conv, boundary):
    if not conv:
        warnings.warn("the GLM fit did not converge in 25 iterations (as R's glm.fit: algorithm did not "
                      "converge)", stacklevel=4)
    if boundary:
        warnings.warn("the GLM fit stopped at a boundary value (R: algorithm stopped at boundary value)",
                      stacklevel=4)
    eps = 10 * EPS
    if family.name == "binomial" and ((mu > 1 - eps) | (mu < eps)).any():
        warnings.warn("fitted probabilities numerically 0 or 1 occurred (perfect or quasi-perfect "
                      "separation: coefficients and SEs are unreliable)", stacklevel=4)
    if family.name == "poisson" and (mu < eps).any():
        warnings.warn("fitted rates numerically 0 occurred", stacklevel=4)


def fit_many(Xt: np.ndarray, y: np.ndarray, weights_block: Callable[[slice], np.ndarray], K: int,
             family: Family, start: np.ndarray, *, block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """K glm.fit runs warm-started at `start` (in the basis of Xt, (m, k), non-aliased columns), the
    prior weights of problem j being column j of weights_block(rows) (each normalised to sum 1 by the
    caller's convention as R does: pass them already scaled). Returns coefficients (K, k) and a
    converged flag (K,). Memory: one row block of (rows x K) at a time."""
    m, k = Xt.shape
    pairs = np.array([(a, b) for a in range(k) for b in range(a, k)])
    coef = np.tile(np.asarray(start, float), (K, 1))
    coefold = coef.copy()
    active = np.ones(K, bool)
    conv = np.zeros(K, bool)
    devold = _deviance(Xt, y, weights_block, coef, family, block)
    for _ in range(MAXIT):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        G = np.zeros((len(pairs), len(idx)))
        h = np.zeros((k, len(idx)))
        for s in range(0, m, block):
            sl = slice(s, min(m, s + block))
            Xb = Xt[sl]
            Wb = weights_block(sl)[:, idx]
            eta = Xb @ coef[idx].T
            mu = family.linkinv(eta)
            mu_eta = family.mu_eta(eta)
            with np.errstate(divide="ignore", invalid="ignore"):
                ww = np.where(Wb > 0, Wb * mu_eta ** 2 / family.variance(mu), 0.0)
                z = np.where(Wb > 0, eta + (y[sl, None] - mu) / mu_eta, 0.0)
            P = Xb[:, pairs[:, 0]] * Xb[:, pairs[:, 1]]
            G += P.T @ ww
            h += Xb.T @ (ww * z)
        Gm = np.zeros((len(idx), k, k))
        Gm[:, pairs[:, 0], pairs[:, 1]] = G.T
        Gm[:, pairs[:, 1], pairs[:, 0]] = G.T
        new = np.linalg.solve(Gm, h.T[:, :, None])[:, :, 0]
        dev = _deviance(Xt, y, weights_block, new, family, block, idx)
        bad = ~np.isfinite(dev)
        if bad.any():     # step halving towards the previous coefficients, as glm.fit
            for _ in range(MAXIT):
                new[bad] = (new[bad] + coefold[idx[bad]]) / 2
                dev[bad] = _deviance(Xt, y, weights_block, new[bad], family, block, idx[bad])
                bad = ~np.isfinite(dev)
                if not bad.any():
                    break
        coef[idx] = new
        done = np.abs(dev - devold[idx]) / (np.abs(dev) + 0.1) < EPSILON
        conv[idx[done]] = True
        active[idx[done]] = False
        devold[idx] = dev
        coefold[idx] = new
    return coef, conv


def _deviance(Xt, y, weights_block, coef, family, block, idx=None):
    K = coef.shape[0]
    dev = np.zeros(K)
    for s in range(0, Xt.shape[0], block):
        sl = slice(s, min(Xt.shape[0], s + block))
        Wb = weights_block(sl)
        if idx is not None:
            Wb = Wb[:, idx]
        mu = family.linkinv(Xt[sl] @ coef.T)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            dev += family.dev_resids(y[sl, None], mu, Wb).sum(axis=0)
        if not (family.validmu(mu) and family.valideta(Xt[sl] @ coef.T)):
            dev[:] = np.where(np.isfinite(dev), np.inf, dev)   # invalid: halve (glm.fit's second loop)
    return dev
