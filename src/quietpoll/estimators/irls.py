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
    coef: np.ndarray  # (p,), 0 for aliased columns (NA in R)
    aliased: np.ndarray  # (p,) bool
    eta: np.ndarray
    mu: np.ndarray
    working_weights: np.ndarray  # prior * mu.eta^2 / V at the last iteration's start (R's glm$weights)
    R: np.ndarray  # (k, k) triangular factor of sqrt(W) X[:, ~aliased] at the last iteration
    iterations: int
    converged: bool
    boundary: bool
    deviance: float = float("nan")  # sum of the deviance residuals at mu (prior weights)


def _qr_r(B: np.ndarray) -> np.ndarray:
    """The R factor of a Fortran-ordered matrix by LAPACK's dgeqrf, in place (no copies)."""
    from scipy.linalg import lapack

    qr, _, _, info = lapack.dgeqrf(B, overwrite_a=1)
    if info != 0:
        raise EstimationError(f"the least-squares step failed (LAPACK dgeqrf info {info})")
    m = min(B.shape)
    return np.triu(qr[:m, :])


# the normal equations decide only when every column keeps at least this share of its norm after
# projection on the columns before it (R's aliasing threshold is 1e-11: far from both)
_GRAM_SAFE = 1e-6


def _wls(X: np.ndarray, w: np.ndarray, z: np.ndarray, tol: float = QR_TOL):
    """Least squares of z on X with row weights w (sqrt of the working weights), with R's limited
    pivoting: coefficients (0 where aliased), aliased mask, R factor of the kept columns.

    Fast path: the Cholesky factor of the weighted cross-products [X z]'W[X z] is the R factor of
    the weighted QR (up to row signs), for one matrix product instead of a tall QR. It is used only
    when no column comes near R's aliasing threshold, and its coefficients are refined against the
    weighted residuals until the correction is at rounding level, so they agree with the QR's to
    rounding; otherwise (a column nearly or exactly aliased, or a failed refinement) the QR decides."""
    fast = _wls_gram(X, w, z)
    if fast is not None:
        return fast
    return _wls_qr(X, w, z, tol)


def _wls_gram(X, w: np.ndarray, z: np.ndarray, block: int = 32768):
    n, p = X.shape
    if p == 0 or n < 4 * p:
        return None
    structured = not isinstance(X, np.ndarray)
    ww = w * w
    if structured:  # a StructuredX: one bincount per block of columns
        C = X.gram(ww, z)
    else:
        # [X z]'W[X z] a row block at a time: the weighted block stays in cache, no tall copy of X
        C = np.zeros((p + 1, p + 1))
        A = np.empty((min(block, n), p + 1), order="F")
        for s in range(0, n, block):
            e = min(n, s + block)
            Ab = A[: e - s]
            np.multiply(X[s:e], w[s:e, None], out=Ab[:, :p])
            np.multiply(z[s:e], w[s:e], out=Ab[:, p])
            C += Ab.T @ Ab
    d = np.diag(C)[:p]
    if not (np.isfinite(C).all() and (d > 0).all()):
        return None
    # scaled to unit column norms, the Cholesky pivots read as shares of each column's norm
    sc = 1.0 / np.sqrt(d)
    Cs = C[:p, :p] * sc[:, None] * sc[None, :]
    try:
        L = np.linalg.cholesky(Cs)
    except np.linalg.LinAlgError:
        return None
    if np.diag(L).min() < _GRAM_SAFE:
        return None
    Rk = L.T / sc[None, :]  # R factor of the unscaled weighted X (positive diagonal)
    coef = _chol_solve(L, sc, C[:p, p])
    for _ in range(4):  # iterative refinement on the weighted residuals
        if structured:
            r = z - X @ coef
            r *= ww
            g = X.rmatvec(r)
        else:
            g = np.zeros(p)
            for s in range(0, n, block):
                e = min(n, s + block)
                r = z[s:e] - X[s:e] @ coef
                r *= ww[s:e]
                g += X[s:e].T @ r
        delta = _chol_solve(L, sc, g)
        coef = coef + delta
        if not np.isfinite(coef).all():
            return None
        # the correction shrinks by a factor of about cond^2 * eps (< 1e-4 here) per pass
        if np.abs(delta).max() <= 1e-12 * np.abs(coef).max():
            break
    else:
        return None
    return coef, np.zeros(p, bool), Rk


def _chol_solve(L: np.ndarray, s: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x with C x = b, C = diag(1/s) L L' diag(1/s)."""
    from scipy.linalg import solve_triangular

    u = solve_triangular(L, b * s, lower=True)
    return solve_triangular(L.T, u, lower=False) * s


def _wls_qr(X, w: np.ndarray, z: np.ndarray, tol: float = QR_TOL):
    X = _dense(X)
    n, p = X.shape
    norms = None
    keep = np.ones(p, bool)
    while True:
        cols = np.flatnonzero(keep)
        A = np.empty((n, len(cols) + 1), order="F")  # LAPACK's layout, overwritten by the QR
        np.multiply(X if len(cols) == p else X[:, cols], w[:, None], out=A[:, : len(cols)])
        np.multiply(z, w, out=A[:, len(cols)])
        if norms is None:
            norms = np.sqrt(np.einsum("ij,ij->j", A[:, :p], A[:, :p]))
        Rfull = _qr_r(A)
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


def _dense(X) -> np.ndarray:
    return X if isinstance(X, np.ndarray) else X.dense()


def fit_one(X, y, prior, family: Family, start=None, *, warn: bool = True) -> IRLSFit:
    """R's glm.fit(X, y, weights = prior, start = start, family = family). X: an ndarray or a
    StructuredX (model_matrix.py), whose least-squares steps take one bincount per block."""
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
        raise EstimationError(
            f"cannot find valid starting values for family {family.name}: give a response inside the family's range"
        )
    identity = family.plain_identity
    if identity and start is None:
        devold = 0.0  # gaussian starts at mu = y: every deviance residual is (y - y)^2 = 0
    else:
        devold = float(family.dev_resids(y, mu, prior).sum())
    dev_at_mu = devold  # the deviance at the current mu (returned with the fit)
    boundary = conv = False
    coef = np.zeros(p) if coefold is None else coefold
    it = 0
    last: bool | None = None
    for it in range(1, MAXIT + 1):
        if identity and last is not None:
            # gaussian with the identity link: every pass solves the same weighted least-squares
            # problem (z = y, same weights), so R's second pass reproduces the first one's
            # coefficients, eta, mu and deviance (to rounding) and stops: converged
            conv = True
            break
        if identity:
            # mu_eta and the variance are 1: the same z and w without dividing by ones
            good = prior > 0
            if not good.any():
                break
        else:
            mu_eta = family.mu_eta(eta)
            good = (prior > 0) & (mu_eta != 0)
            if not good.any():
                break
            var = family.variance(mu)
        every = bool(good.all())
        if identity and every:
            # from R's start mu = eta = y, z = eta + (y - mu) is y itself (no two passes over n)
            z = eta if start is None and it == 1 else eta + (y - mu)
            w = np.sqrt(prior)
            Xg = X
        elif every:
            z = eta + (y - mu) / mu_eta
            w = np.sqrt(prior * mu_eta**2 / var)
            Xg = X
        elif identity:
            z = eta[good] + (y - mu)[good]
            w = np.sqrt(prior[good])
            Xg = X[good] if isinstance(X, np.ndarray) else X.take(good)
        else:
            z = eta[good] + (y - mu)[good] / mu_eta[good]
            w = np.sqrt(prior[good] * mu_eta[good] ** 2 / var[good])
            Xg = X[good] if isinstance(X, np.ndarray) else X.take(good)
        new, aliased, Rk = _wls(Xg, w, z)
        last = True
        if not np.isfinite(new).all():
            warnings.warn(f"non-finite coefficients at iteration {it}", stacklevel=3)
            break
        if every:
            ww = w * w
        else:
            ww = np.zeros(n)
            ww[good] = w * w
        start_ = new
        eta = X @ start_
        mu = family.linkinv(eta)
        dev = float(family.dev_resids(y, mu, prior).sum())
        boundary = False
        if not np.isfinite(dev) or not (family.valideta(eta) and family.validmu(mu)):
            if coefold is None:
                raise EstimationError("no valid set of coefficients has been found (R: please supply starting values)")
            for _ in range(MAXIT):
                start_ = (start_ + coefold) / 2
                eta = X @ start_
                mu = family.linkinv(eta)
                dev = float(family.dev_resids(y, mu, prior).sum())
                if np.isfinite(dev) and family.valideta(eta) and family.validmu(mu):
                    break
            else:
                raise EstimationError("the fit cannot correct its step size (R: inner loop; cannot correct step size)")
            boundary = True
        coef = start_
        dev_at_mu = dev
        if abs(dev - devold) / (abs(dev) + 0.1) < EPSILON:
            conv = True
            break
        devold, coefold = dev, start_
    if warn:
        _warnings(family, mu, prior, conv, boundary)
    return IRLSFit(coef, aliased, eta, mu, ww, Rk, it, conv, boundary, dev_at_mu)


def _warnings(family, mu, prior, conv, boundary):
    if not conv:
        warnings.warn(
            "the GLM fit did not converge in 25 iterations (as R's glm.fit: algorithm did not converge)", stacklevel=4
        )
    if boundary:
        warnings.warn("the GLM fit stopped at a boundary value (R: algorithm stopped at boundary value)", stacklevel=4)
    eps = 10 * EPS
    if family.name in ("binomial", "poisson"):
        mu = mu[prior > 0]
    if family.name == "binomial" and ((mu > 1 - eps) | (mu < eps)).any():
        warnings.warn(
            "fitted probabilities numerically 0 or 1 occurred (perfect or quasi-perfect "
            "separation: coefficients and SEs are unreliable)",
            stacklevel=4,
        )
    if family.name == "poisson" and (mu < eps).any():
        warnings.warn("fitted rates numerically 0 occurred", stacklevel=4)


def fit_many(
    Xt: np.ndarray,
    y: np.ndarray,
    weights_block: Callable[[slice], np.ndarray],
    K: int,
    family: Family,
    start: np.ndarray,
    *,
    block: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """K glm.fit runs warm-started at `start` (in the basis of Xt, (m, k), the non-aliased columns),
    the prior weights of problem j being column j of weights_block(rows) (already scaled as R scales
    them). One pass over the rows per iteration gives the deviance at the current coefficients and the
    next least-squares system. Returns coefficients (K, k) and a converged flag (K,). Memory: one row
    block of (rows x K) at a time."""
    coef = np.tile(np.asarray(start, float), (K, 1))
    conv = np.zeros(K, bool)
    idx = np.arange(K)
    devold, G, h = _pass(Xt, y, weights_block, coef, idx, family, block)
    if not np.isfinite(devold).all():
        raise EstimationError("a replicate fit has no valid start at the full-sample coefficients")
    for _ in range(MAXIT):
        if not len(idx):
            break
        new = np.linalg.solve(G, h[:, :, None])[:, :, 0]
        dev, G2, h2 = _pass(Xt, y, weights_block, new, idx, family, block)
        bad = ~np.isfinite(dev)
        for _ in range(MAXIT):  # step halving towards the previous coefficients, as glm.fit
            if not bad.any():
                break
            new[bad] = (new[bad] + coef[idx[bad]]) / 2
            dev[bad], G2[bad], h2[bad] = _pass(Xt, y, weights_block, new[bad], idx[bad], family, block)
            bad = ~np.isfinite(dev)
        coef[idx] = new
        done = np.abs(dev - devold[idx]) / (np.abs(dev) + 0.1) < EPSILON
        conv[idx[done]] = True
        devold[idx] = dev
        keep = ~done
        idx, G, h = idx[keep], G2[keep], h2[keep]
    return coef, conv


def _pass(Xt, y, weights_block, coef, idx, family, block):
    """Deviance (K,) at coef (K, k) for the problems idx, and the weighted least-squares system
    (K, k, k), (K, k) of the next IRLS step; an invalid mu or eta gives an infinite deviance."""
    m, k = Xt.shape
    K = len(idx)
    a, b = np.triu_indices(k)
    dev = np.zeros(K)
    Gp = np.zeros((len(a), K))
    h = np.zeros((k, K))
    valid = np.ones(K, bool)
    for s in range(0, m, block):
        sl = slice(s, min(m, s + block))
        Xb = Xt[sl]
        Wb = weights_block(sl)[:, idx]
        eta = Xb @ coef.T
        if family.linkinv_mu_eta is not None:
            mu, mu_eta = family.linkinv_mu_eta(eta)
        else:
            mu, mu_eta = family.linkinv(eta), family.mu_eta(eta)
        if not (family.validmu(mu) and family.valideta(eta)):
            valid &= np.array([family.validmu(mu[:, j]) and family.valideta(eta[:, j]) for j in range(K)])
        var = family.variance(mu)
        dev += family.dev_resids(y[sl, None], mu, Wb).sum(axis=0)
        # working weights W mu_eta^2 / V and W mu_eta (y - mu) / V + ww eta (= ww z), in place;
        # rows without weight give 0 (their V is finite and positive on a valid mu)
        ww = np.multiply(mu_eta, mu_eta)
        ww /= var
        ww *= Wb
        wz = y[sl, None] - mu  # a new array: var may be mu itself (poisson)
        wz *= mu_eta
        wz /= var
        wz *= Wb
        wz += eta * ww
        P = Xb[:, a] * Xb[:, b]
        Gp += P.T @ ww
        h += Xb.T @ wz
    G = np.zeros((K, k, k))
    G[:, a, b] = Gp.T
    G[:, b, a] = Gp.T
    dev[~valid] = np.inf
    return dev, G, h.T
