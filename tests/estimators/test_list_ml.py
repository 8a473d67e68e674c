"""Imai's (2011) ML list estimator against the published model written out independently here:
the intercept-only likelihood (control items Binomial(J, psi), sensitive item Bernoulli(delta),
Y = Y(0) + T Z) evaluated row by row with scipy.stats and maximized with scipy on a small worked
data set; the SE from the observed information; the design-based (sandwich) SE under simple random
sampling; re-fitting under replicate weights; EM against direct maximization; bad input.
All data are synthetic."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from scipy.optimize import minimize
from scipy.special import comb

import quietpoll as qp
from quietpoll.errors import ColumnError, EstimationError
from quietpoll.estimators import list_ml
from quietpoll.estimators.list_ml import fit, hessian, list_experiment_ml, loglik
from quietpoll.estimators.sensitive import list_experiment

J = 3
# the worked example: frequencies of each count in the two arms (control 0..3, treated 0..4)
CONTROL = {0: 3, 1: 7, 2: 6, 3: 4}
TREATED = {0: 1, 1: 5, 2: 7, 3: 5, 4: 2}


def worked(weights=None):
    y = [k for k, n in CONTROL.items() for _ in range(n)] + [k for k, n in TREATED.items() for _ in range(n)]
    t = [0] * sum(CONTROL.values()) + [1] * sum(TREATED.values())
    w = np.ones(len(y)) if weights is None else weights
    return pl.DataFrame({"count": y, "treat": t, "w": w})


def pmf(k, p):
    """Binomial(J, p) probability of k (0 outside 0..J)."""
    kk = np.clip(k, 0, J)
    return np.where((k >= 0) & (k <= J), comb(J, kk) * p**kk * (1 - p) ** (J - kk), 0.0)


def row_loglik(par, y, t):
    """Imai (2011), no covariates: log Pr(Y_i = y | T_i) for each row, written from the model:
    control Binomial(J, psi); treated delta Pr(Y(0) = y - 1) + (1 - delta) Pr(Y(0) = y)."""
    d, p = par
    with np.errstate(divide="ignore"):
        return np.where(t == 1, np.log(d * pmf(y - 1, p) + (1 - d) * pmf(y, p)), np.log(pmf(y, p)))


def scipy_mle(y, t, w):
    """Maximize sum_i w_i log Pr(Y_i | T_i) with scipy (rows with the same (y, t) pooled for speed)."""
    cells, inv = np.unique(np.column_stack([y, t]), axis=0, return_inverse=True)
    wc = np.bincount(inv.ravel(), weights=w)
    obj = lambda par: -(wc * row_loglik(par, cells[:, 0], cells[:, 1])).sum()  # noqa: E731
    r = minimize(obj, [0.4, 0.5], method="Nelder-Mead", options={"xatol": 1e-11, "fatol": 1e-9, "maxiter": 4000})
    assert r.success
    return r.x


def num_grad(f, x, h=1e-6):
    x = np.asarray(x, float)
    out = []
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = h
        out.append((f(x + e) - f(x - e)) / (2 * h))
    return np.stack(out, axis=-1)


def test_worked_example_estimate_and_information_se():
    df = worked()
    y, t = df["count"].to_numpy(), df["treat"].to_numpy()
    w = np.ones(len(y))
    theta = scipy_mle(y, t, w)
    row = list_experiment_ml(qp.svydesign(df, weights="w"), "count", "treat").rows[0]
    assert row.statistic == "list_experiment" and row.method == "ml" and row.level is None
    assert row.estimate == pytest.approx(theta[0], rel=1e-6)
    # the module's cell totals, fit and Hessian
    N = np.bincount(y + t * (J + 1), minlength=2 * J + 3).astype(float)
    th = fit(N[None], J).theta[0]
    assert th == pytest.approx(theta, rel=1e-6)
    # observed information from the independent likelihood (numerical Hessian) vs the module's
    total = lambda par: (w * row_loglik(par, y, t)).sum()  # noqa: E731
    Hnum = num_grad(lambda p: num_grad(total, p, 1e-5), th, 1e-5)
    se_info = math.sqrt(np.linalg.inv(-Hnum)[0, 0])
    H = hessian(N, th, J)
    assert H == pytest.approx(Hnum, rel=1e-5)
    assert math.sqrt(np.linalg.inv(-H)[0, 0]) == pytest.approx(se_info, rel=1e-5)
    # design-based SE under SRS (with replacement, each row a PSU): the sandwich
    # n/(n-1) H^-1 (sum s_i s_i') H^-1 with s_i each row's score, here by numerical differentiation
    n = len(y)
    S = num_grad(lambda p: row_loglik(p, y, t), th)  # (n, 2)
    Hi = np.linalg.inv(Hnum)
    V = n / (n - 1) * Hi @ (S.T @ S) @ Hi
    assert row.se == pytest.approx(math.sqrt(V[0, 0]), rel=1e-5)
    # the sandwich and the information SE agree roughly when the model fits
    assert row.se == pytest.approx(se_info, rel=0.25)


def test_weighted_pseudo_likelihood_matches_scipy():
    rng = np.random.default_rng(5)
    w = rng.uniform(0.5, 4.0, 40)
    df = worked(w)
    theta = scipy_mle(df["count"].to_numpy(), df["treat"].to_numpy(), w)
    row = list_experiment_ml(qp.svydesign(df, weights="w"), "count", "treat").rows[0]
    assert row.estimate == pytest.approx(theta[0], rel=1e-6)


def random_tables(K, seed):
    rng = np.random.default_rng(seed)
    N = np.empty((K, 2 * J + 3))
    for k in range(K):
        d, p = rng.uniform(0.1, 0.8), rng.uniform(0.2, 0.8)
        n = rng.integers(60, 600)
        t = rng.integers(0, 2, n)
        y = rng.binomial(J, p, n) + t * (rng.random(n) < d)
        N[k] = np.bincount(y + t * (J + 1), weights=rng.uniform(1, 3, n), minlength=2 * J + 3)
    return N


def test_em_newton_and_scipy_agree_and_vectorized_equals_one_by_one():
    N = random_tables(40, 6)
    em = fit(N, J, algorithm="em")
    nt = fit(N, J, algorithm="newton")
    assert em.converged.all() and nt.converged.all()
    inner = ~em.boundary
    assert inner.sum() >= 30
    assert em.theta[inner] == pytest.approx(nt.theta[inner], rel=1e-9, abs=1e-11)
    for k in np.flatnonzero(inner)[:10]:
        one = fit(N[k], J).theta[0]
        assert one == pytest.approx(em.theta[k], rel=1e-10, abs=1e-12)
        r = minimize(
            lambda th: -loglik(th, N[k : k + 1], J)[0],
            [0.5, 0.5],
            method="L-BFGS-B",
            bounds=[(1e-9, 1 - 1e-9)] * 2,
            options={"ftol": 1e-15, "gtol": 1e-12},
        )
        assert r.x == pytest.approx(em.theta[k], rel=1e-5, abs=1e-7)
    # pure EM (as in the paper) reaches the same point when run to a tight tolerance
    th, _, done = list_ml._run_em(list_ml._start(N, J), N, J, 1e-13, 200_000)
    assert done[inner].all()
    assert th[inner] == pytest.approx(em.theta[inner], rel=1e-8, abs=1e-10)


def cluster_sample(seed=2, n_psu=12, per=30):
    rng = np.random.default_rng(seed)
    n = n_psu * per
    psu = np.repeat(np.arange(n_psu), per)
    u = rng.normal(0, 0.3, n_psu)[psu]
    t = rng.integers(0, 2, n)
    y = rng.binomial(J, 1 / (1 + np.exp(-u)), n) + t * (rng.random(n) < 0.35)
    return pl.DataFrame(
        {
            "count": y,
            "treat": t,
            "psu": psu,
            "w": rng.uniform(1, 5, n).round(3),
            "g": np.where(rng.random(n) < 0.5, "a", "b"),
        }
    )


def test_replicate_se_is_refit_under_each_replicate():
    df = cluster_sample()
    rep = qp.as_svrepdesign(qp.svydesign(df, ids="psu", weights="w"), "JK1")
    y, t = df["count"].to_numpy(), df["treat"].to_numpy()
    W = rep.rep_matrix(slice(None))
    thetas = np.array([scipy_mle(y, t, W[:, r]) for r in range(W.shape[1])])
    full = scipy_mle(y, t, df["w"].to_numpy())
    v = rep.scale * (rep.rscales * (thetas[:, 0] - thetas[:, 0].mean()) ** 2).sum()
    row = list_experiment_ml(rep, "count", "treat").rows[0]
    assert row.estimate == pytest.approx(full[0], rel=1e-6)
    assert row.se == pytest.approx(math.sqrt(v), rel=1e-5)


def test_taylor_and_replicate_agree_with_domains_and_ml_near_diff():
    df = cluster_sample(seed=3, n_psu=40, per=40)
    tay = qp.svydesign(df, ids="psu", weights="w")
    rep = qp.as_svrepdesign(tay, "JK1")
    a = list_experiment_ml(tay, "count", "treat", by="g")
    b = list_experiment_ml(rep, "count", "treat", by="g")
    d = list_experiment(tay, "count", "treat", by="g")
    assert [r.domain for r in a.rows] == [{"g": "a"}, {"g": "b"}]
    for ra, rb, rd in zip(a.rows, b.rows, d.rows):
        assert ra.estimate == pytest.approx(rb.estimate, rel=1e-10)
        assert rb.se == pytest.approx(ra.se, rel=0.1)
        assert abs(ra.estimate - rd.estimate) < 2 * rd.se
        assert ra.ci_low < ra.estimate < ra.ci_high and ra.df == tay.degf(
            np.flatnonzero(df["g"].to_numpy() == ra.domain["g"])
        )
    # a domain's linearization uses the whole design: the same as zero-weighting the other rows
    zero = df.with_columns(pl.when(pl.col("g") == "a").then(pl.col("w")).otherwise(0.0).alias("w"))
    za = list_experiment_ml(qp.svydesign(zero, ids="psu", weights="w"), "count", "treat").rows[0]
    assert za.estimate == pytest.approx(a.rows[0].estimate, rel=1e-10)
    assert za.se == pytest.approx(a.rows[0].se, rel=1e-9)


def test_boundary_estimate_has_no_linearized_se():
    # the treated arm looks like the control arm shifted down: the ML estimate of delta is 0
    df = pl.DataFrame(
        {
            "count": [0] * 5 + [1] * 20 + [2] * 20 + [3] * 5 + [0] * 10 + [1] * 25 + [2] * 15 + [3] * 5,
            "treat": [0] * 50 + [1] * 55,
            "psu": np.arange(105) % 10,
        }
    )
    with pytest.warns(UserWarning, match="boundary"):
        r = list_experiment_ml(qp.svydesign(df), "count", "treat").rows[0]
    assert r.estimate == 0.0 and math.isnan(r.se) and r.ci_low is None or math.isnan(r.ci_low or math.nan)
    rep = qp.as_svrepdesign(qp.svydesign(df, ids="psu"), "JK1")
    with pytest.warns(UserWarning, match="replicate SE is unreliable"):
        r = list_experiment_ml(rep, "count", "treat").rows[0]
    assert r.estimate == 0.0 and r.se >= 0


@pytest.mark.parametrize(
    "values,treat,kw,err,msg",
    [
        ([0.0, 1.0, 2.5, 3.0, 1.0, 2.0], [0, 0, 0, 1, 1, 1], {}, ColumnError, "whole numbers"),
        ([0, 1, -1, 3, 1, 2], [0, 0, 0, 1, 1, 1], {}, ColumnError, "whole numbers"),
        ([0, 1, 2, 3, 1, 4], [0, 0, 0, 1, 1, 1], {}, ColumnError, r"above J \+ 1 = 3"),
        ([0, 1, 3, 3, 1, 2], [0, 0, 0, 1, 1, 1], {"control_items": 2}, ColumnError, "control-row count 3 above"),
        ([0, 1, 2, 3, 1, 2], [0, 0, 0, 1, 1, 1], {"control_items": 0}, EstimationError, "control_items must be"),
        ([0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1], {}, EstimationError, "every control row"),
        ([0, 1, 2, 3, 1, 2], [0, 0, 2, 1, 1, 1], {}, ColumnError, "0 and 1"),
    ],
)
def test_bad_counts_and_treatment(values, treat, kw, err, msg):
    df = pl.DataFrame({"count": values, "treat": treat})
    with pytest.raises(err, match=msg):
        list_experiment_ml(qp.svydesign(df), "count", "treat", **kw)


@pytest.mark.filterwarnings("ignore:ML list estimate")
def test_domain_without_one_arm_is_an_error():
    df = pl.DataFrame(
        {
            "count": [0, 1, 2, 1, 2, 3, 1, 2],
            "treat": [0, 0, 1, 1, 1, 1, 0, 1],
            "g": ["a", "a", "a", "a", "b", "b", "b", "b"],
        }
    )
    df = df.with_columns(pl.when(pl.col("g") == "b").then(1).otherwise(pl.col("treat")).alias("treat"))
    with pytest.raises(EstimationError, match="in domain g=b has no control rows"):
        list_experiment_ml(qp.svydesign(df), "count", "treat", by="g", control_items=3)


def test_not_converging_is_an_error(monkeypatch):
    real = list_ml.fit

    def capped(N, J, start=None, *, algorithm="em", max_em=200_000):
        return real(N, J, start, algorithm=algorithm, max_em=1)  # far too few EM steps after Newton

    def failing_newton(theta, N, J, maxit=60):
        return theta.copy(), np.zeros(len(theta), bool), 0  # Newton gives up at once

    monkeypatch.setattr(list_ml, "fit", capped)
    monkeypatch.setattr(list_ml, "_newton", failing_newton)
    res = capped(np.bincount(worked()["count"].to_numpy() + worked()["treat"].to_numpy() * (J + 1)), J)
    assert not res.converged[0]
    with pytest.raises(EstimationError, match="did not converge"):
        list_experiment_ml(qp.svydesign(worked()), "count", "treat")


def test_zero_weight_rows_and_missing_values():
    df = worked().with_columns(pl.Series("count", [None] + worked()["count"].to_list()[1:], dtype=pl.Int64))
    r = list_experiment_ml(qp.svydesign(df), "count", "treat", control_items=J).rows[0]
    assert r.n == 39 and r.n_missing == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, t = df["count"].to_numpy()[1:], df["treat"].to_numpy()[1:]
        assert r.estimate == pytest.approx(scipy_mle(y.astype(int), t, np.ones(39))[0], rel=1e-6)


def test_boundary_fits_equal_the_closed_forms():
    # delta = 0: every row is Binomial(J, psi), so psi is the mean count over J
    N0 = np.array([5.0, 20, 20, 5])
    N1 = np.array([10.0, 25, 15, 5, 0])
    res = fit(np.concatenate([N0, N1]), J)
    assert res.converged[0] and res.boundary[0]
    mean = (N0 @ np.arange(J + 1) + N1 @ np.arange(J + 2)) / (N0.sum() + N1.sum())
    assert res.theta[0] == pytest.approx([0.0, mean / J], rel=1e-9, abs=1e-12)
    # delta = 1: treated rows are 1 + Binomial(J, psi)
    N1 = np.array([0.0, 5, 20, 20, 5])
    res = fit(np.concatenate([N0, N1]), J)
    assert res.converged[0] and res.boundary[0]
    psi = (N0 @ np.arange(J + 1) + N1 @ (np.arange(J + 2) - 1)) / (J * (N0.sum() + N1.sum()))
    assert res.theta[0] == pytest.approx([1.0, psi], rel=1e-9)
    # the likelihood there is not beaten by scipy inside the square
    r = minimize(
        lambda th: -loglik(th, np.concatenate([N0, N1])[None], J)[0],
        [0.5, 0.5],
        method="L-BFGS-B",
        bounds=[(1e-9, 1 - 1e-9)] * 2,
    )
    assert res.loglik[0] >= -r.fun - 1e-6
