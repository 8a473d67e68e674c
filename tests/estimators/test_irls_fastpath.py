"""The weighted least-squares fast path (Cholesky of the cross-products, refined) agrees with R's
pivoted QR to rounding, and hands every nearly or exactly aliased problem to the QR."""

from __future__ import annotations

import numpy as np

from quietpoll.estimators.irls import _wls, _wls_gram, _wls_qr


def _problem(n=5000, seed=3):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 6, n)
    X = np.column_stack([np.ones(n), rng.normal(5, 2, n), (g[:, None] == np.arange(1, 6)).astype(float)])
    z = X @ rng.normal(size=X.shape[1]) + rng.normal(0, 3, n)
    w = np.sqrt(rng.uniform(0.5, 3.0, n))
    return np.asfortranarray(X), w, z


def test_fast_path_matches_qr():
    X, w, z = _problem()
    fast = _wls_gram(X, w, z)
    assert fast is not None  # a well-conditioned problem takes the fast path
    coef, aliased, Rk = fast
    qcoef, qaliased, qR = _wls_qr(X, w, z)
    assert not aliased.any() and not qaliased.any()
    np.testing.assert_allclose(coef, qcoef, rtol=1e-12, atol=0)
    # same R factor up to the signs of its rows: R'R agrees
    G = qR.T @ qR
    np.testing.assert_allclose(Rk.T @ Rk, G, rtol=1e-11, atol=1e-12 * np.abs(G).max())


def test_fast_path_in_blocks_matches_one_block():
    X, w, z = _problem(n=3000)
    a = _wls_gram(X, w, z, block=257)
    b = _wls_gram(X, w, z, block=10**6)
    assert a is not None and b is not None
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)


def test_exactly_aliased_column_goes_to_qr():
    X, w, z = _problem()
    Xa = np.asfortranarray(np.column_stack([X, X[:, 1] * 2.0]))
    assert _wls_gram(Xa, w, z) is None
    coef, aliased, _ = _wls(Xa, w, z)
    qcoef, qaliased, _ = _wls_qr(Xa, w, z)
    assert aliased.tolist() == qaliased.tolist() and aliased[-1]
    np.testing.assert_array_equal(coef, qcoef)


def test_nearly_aliased_column_goes_to_qr():
    X, w, z = _problem()
    rng = np.random.default_rng(9)
    near = X[:, 1] + rng.normal(0, 1e-9, len(z))
    Xn = np.asfortranarray(np.column_stack([X, near]))
    assert _wls_gram(Xn, w, z) is None  # R's QR decides near its aliasing threshold
    coef, aliased, _ = _wls(Xn, w, z)
    qcoef, qaliased, _ = _wls_qr(Xn, w, z)
    assert aliased.tolist() == qaliased.tolist()
    np.testing.assert_array_equal(coef, qcoef)


def test_zero_column_and_tiny_problem_go_to_qr():
    X, w, z = _problem(n=200)
    Xz = np.asfortranarray(np.column_stack([X, np.zeros(len(z))]))
    assert _wls_gram(Xz, w, z) is None
    assert _wls(Xz, w, z)[1][-1]
    assert _wls_gram(X[:10], w[:10], z[:10]) is None  # fewer than 4 rows per column


def test_binomial_shortcuts_give_the_same_bits():
    """The logit link's mu and mu_eta from one exp, and the deviance of a 0/1 response with one log,
    are bit for bit R's formulas (families.py)."""
    from quietpoll.estimators.families import _binom_dev, _logit_linkinv, _logit_mu_eta, _ylogy, get_family

    rng = np.random.default_rng(11)
    eta = np.concatenate([rng.normal(0, 8, 5000), [-800.0, -30.0, -29.9, 30.0, 30.1, 800.0, 0.0]])
    with np.errstate(over="ignore"):
        mu, mu_eta = get_family("binomial").linkinv_mu_eta(eta)
        np.testing.assert_array_equal(mu, _logit_linkinv(eta))
        np.testing.assert_array_equal(mu_eta, _logit_mu_eta(eta))
    y = (rng.random((len(eta), 1)) < 0.4).astype(float)
    mus = np.column_stack([mu, np.clip(mu[::-1], 0, 1), np.where(np.arange(len(mu)) % 7 == 0, 1.0, mu)])
    mus[:3, 0] = [0.0, 1.0, np.nan]
    wt = rng.uniform(0, 3, (len(eta), 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        general = 2 * wt * (_ylogy(y, mus) + _ylogy(1 - y, 1 - mus))
        np.testing.assert_array_equal(_binom_dev(y, mus, wt), general)
        yq = np.full_like(y, 0.25)  # a proportion: the general formula
        np.testing.assert_array_equal(_binom_dev(yq, mus, wt), 2 * wt * (_ylogy(yq, mus) + _ylogy(1 - yq, 1 - mus)))
    valid = get_family("binomial").validmu
    assert valid(np.array([0.2, 0.7])) and not valid(np.array([0.2, 1.0]))
    assert not valid(np.array([0.2, np.nan])) and not valid(np.array([np.inf])) and not valid(np.array([0.0]))


def test_fit_returns_the_deviance_at_its_mu():
    """IRLSFit.deviance is the deviance recomputed at the returned mu, bit for bit, whichever way the
    iterations end (gaussian's second pass, convergence, a start given)."""
    from quietpoll.estimators.families import get_family
    from quietpoll.estimators.irls import fit_one

    X, w, z = _problem(n=2000, seed=5)
    rng = np.random.default_rng(8)
    eta = X @ (rng.normal(size=X.shape[1]) * 0.05)
    ys = {
        "gaussian": z,
        "binomial": (rng.random(len(z)) < 1 / (1 + np.exp(-eta))).astype(float),
        "poisson": rng.poisson(np.exp(eta)).astype(float),
        "Gamma": rng.gamma(2.0, np.exp(eta)),
    }
    prior = w * w
    for name, y in ys.items():
        fam = get_family(name)
        for start in (None, fit_one(X, y, prior, fam).coef * 0.9):
            fit = fit_one(X, y, prior, fam, start)
            assert fit.deviance == float(fam.dev_resids(y, fit.mu, prior).sum())
