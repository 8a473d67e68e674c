"""Randomized-response regression (Blair, Imai & Zhou 2015; R's rrreg): for the forced, Warner and
unrelated-question designs the ML fit against the likelihood written out here from each design's
description (maximized with scipy's BFGS on a central-difference gradient), model SEs against the
inverse of a numerical Hessian; intercept-only fits against quietpoll's tested moment estimator
(Taylor and replicate designs); design-based SEs on a clustered design checked by a Monte Carlo;
probabilities that do not identify the model refused naming the parameter. Synthetic data."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import minimize

import quietpoll as qp
from quietpoll.errors import ColumnError, EstimationError
from quietpoll.estimators.rr_reg import rr_affine, rr_regression
from quietpoll.estimators.sensitive import randomized_response
from quietpoll.weighting.apply import WeightingSpec

DESIGNS = {
    "forced": {"p_truth": 0.7, "p_yes": 0.15},
    "warner": {"p": 0.75},
    "warner_low": {"p": 0.3},
    "unrelated": {"p": 0.6, "p_unrelated": 0.25},
}


def answer_prob(design, h, kw):
    """P(recorded yes | true prevalence h), from each design's description (not from rr_reg)."""
    if design == "forced":  # answer truthfully w.p. p_truth, else forced yes w.p. p_yes, forced no
        return kw["p_truth"] * h + kw["p_yes"]
    if design.startswith("warner"):  # the statement w.p. p, its negation otherwise
        return kw["p"] * h + (1 - kw["p"]) * (1 - h)
    return kw["p"] * h + (1 - kw["p"]) * kw["p_unrelated"]  # sensitive question w.p. p, else unrelated


def simulate(design, n, seed, *, clusters=None, icc=0.0, cluster_x=False):
    """Synthetic answers; with `clusters` a cluster effect on x1 and the truth, with `cluster_x` x1
    measured on the cluster (a village's trait), so that its slope is learnt between clusters."""
    kw = DESIGNS[design]
    rng = np.random.default_rng(seed)
    cl = np.arange(n) if clusters is None else rng.integers(0, clusters, n)
    u = rng.normal(size=cl.max() + 1) * math.sqrt(icc)
    x1 = (rng.normal(size=cl.max() + 1)[cl] if cluster_x else rng.normal(size=n)) + u[cl]
    x2 = rng.integers(0, 2, n)
    h = 1 / (1 + np.exp(-(-0.4 + 0.7 * x1 - 0.5 * x2 + 2 * u[cl])))
    z = rng.random(n) < h
    lam_yes = answer_prob(design, 1.0, kw)  # P(yes | Z = 1)
    lam_no = answer_prob(design, 0.0, kw)  # P(yes | Z = 0)
    a = (rng.random(n) < np.where(z, lam_yes, lam_no)).astype(int)
    return pl.DataFrame({"a": a, "x1": x1, "x2": x2, "cl": cl, "one": np.ones(n)})


def rr_kw(design):
    return {"rr_design": "warner" if design.startswith("warner") else design, **DESIGNS[design]}


def num_grad(f, x, eps=1e-6):
    e = np.eye(len(x)) * eps
    return np.array([(f(x + e[i]) - f(x - e[i])) / (2 * eps) for i in range(len(x))])


def num_hess(f, x, h=1e-3):
    E = np.eye(len(x)) * h
    return np.array(
        [
            [
                (f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j]) + f(x - E[i] - E[j])) / (4 * h * h)
                for j in range(len(x))
            ]
            for i in range(len(x))
        ]
    )


@pytest.mark.parametrize("design", list(DESIGNS))
def test_ml_equals_the_published_likelihood_maximized_independently(design):
    df = simulate(design, 1500, 3)
    des = qp.svydesign(df, weights="one")
    res = rr_regression(des, "a ~ x1 + x2", variance="model", **rr_kw(design))
    X = np.column_stack([np.ones(df.height), df["x1"].to_numpy(), df["x2"].to_numpy()])
    y = df["a"].to_numpy()
    kw = DESIGNS[design]

    def ll(b):
        lam = answer_prob(design, 1 / (1 + np.exp(-(X @ b))), kw)
        return stats.bernoulli.logpmf(y, lam).sum()

    f = lambda b: -ll(b) / len(y)  # noqa: E731
    opt = minimize(f, np.zeros(3), jac=lambda b: num_grad(f, b), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(res.coef, opt.x, rtol=1e-6, atol=1e-8)
    assert res.loglik == pytest.approx(ll(opt.x), rel=1e-10)
    V = np.linalg.inv(-num_hess(ll, opt.x))
    np.testing.assert_allclose(res.se, np.sqrt(np.diag(V)), rtol=1e-5)
    assert [r["part"] for r in res.coefficients()] == ["sensitive"] * 3


@pytest.mark.parametrize("kind", ["taylor", "replicate", "poststratified"])
@pytest.mark.parametrize("design", ["forced", "warner", "unrelated"])
def test_intercept_only_prevalence_equals_the_moment_estimator(design, kind):
    df = simulate(design, 800, 9, clusters=40, icc=0.1).with_columns(
        (pl.col("cl") % 4).alias("st"), (1 + 2.0 * pl.col("x2")).alias("w")
    )
    des = qp.svydesign(df, ids="cl", strata="st", weights="w", nest=True)
    if kind == "replicate":
        des = qp.as_svrepdesign(des, type="JKn")
    if kind == "poststratified":
        des = des.weight(WeightingSpec(method="poststratify", targets={"x2": {"0": 700, "1": 300}}, population=1000))
    res = rr_regression(des, "a ~ 1", **rr_kw(design))
    p = res.prevalence(des)[0]
    ref = randomized_response(des, "a", **rr_kw(design)).rows[0]
    assert p["estimate"] == pytest.approx(ref.estimate, rel=1e-8)
    assert p["se"] == pytest.approx(ref.se, rel=1e-6)


def test_design_se_by_monte_carlo_on_a_clustered_design():
    """200 clustered samples: the mean sandwich SE is within 20% of the Monte Carlo SD of the
    coefficients while the model SE falls short; 90% intervals cover the Monte Carlo mean."""
    est, se_d, se_m = [], [], []
    for s in range(200):
        df = simulate("forced", 600, 2000 + s, clusters=30, icc=0.5, cluster_x=True)
        r = rr_regression(qp.svydesign(df, ids="cl", weights="one"), "a ~ x1", **rr_kw("forced"))
        est.append(r.coef)
        se_d.append(r.se)
        se_m.append(np.sqrt(np.diag(r.vcov_model)))
    est, se_d, se_m = map(np.array, (est, se_d, se_m))
    sd = est.std(axis=0, ddof=1)
    ratio_d, ratio_m = se_d.mean(axis=0) / sd, se_m.mean(axis=0) / sd
    assert np.all((ratio_d > 0.8) & (ratio_d < 1.2)), ratio_d
    assert ratio_m.max() < 0.7, ratio_m
    cover = (np.abs(est - est.mean(axis=0)) <= stats.t.ppf(0.95, 28) * se_d).mean(axis=0)
    assert np.all((cover > 0.84) & (cover < 0.97)), cover


def test_prevalence_by_group():
    df = simulate("unrelated", 2000, 4)
    des = qp.svydesign(df, weights="one")
    res = rr_regression(des, "a ~ x1 + x2", **rr_kw("unrelated"))
    rows = res.prevalence(des, by="x2")
    X = np.column_stack([np.ones(df.height), df["x1"].to_numpy(), df["x2"].to_numpy()])
    h = 1 / (1 + np.exp(-(X @ res.coef)))
    for r in rows:
        m = df["x2"].to_numpy() == int(r["x2"])
        assert r["estimate"] == pytest.approx(h[m].mean(), rel=1e-12)
        assert r["ci_low"] < r["estimate"] < r["ci_high"]
    assert rows[0]["estimate"] > rows[1]["estimate"]  # x2's true slope is -0.5


def test_text_answers():
    df = simulate("forced", 500, 8)
    text = df.with_columns(pl.when(pl.col("a") == 1).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("a"))
    a = rr_regression(qp.svydesign(df, weights="one"), "a ~ x1", **rr_kw("forced"))
    b = rr_regression(qp.svydesign(text, weights="one"), "a ~ x1", **rr_kw("forced"))
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)


# ---- probabilities that do not identify the model, and other bad input ---------------------------------


@pytest.mark.parametrize(
    "kw,param",
    [
        ({"rr_design": "warner", "p": 0.5}, "p"),
        ({"rr_design": "forced", "p_truth": 0.0, "p_yes": 0.5}, "p_truth"),
        ({"rr_design": "forced", "p_truth": 1.2, "p_yes": 0.1}, "p_truth"),
        ({"rr_design": "forced", "p_truth": 0.7}, "p_yes"),
        ({"rr_design": "forced", "p_truth": 0.7, "p_yes": 0.4}, "p_yes"),
        ({"rr_design": "unrelated", "p": 0.0, "p_unrelated": 0.3}, "p"),
        ({"rr_design": "unrelated", "p": 0.6, "p_unrelated": 1.3}, "p_unrelated"),
        ({"rr_design": "warner", "p": 0.7, "p_yes": 0.1}, "p_yes"),
        ({"rr_design": "mirror", "p": 0.7}, "rr_design"),
        ({"rr_design": "forced", "p_truth": "x", "p_yes": 0.1}, "p_truth"),
    ],
)
def test_unidentifying_or_bad_probabilities(kw, param):
    df = simulate("forced", 200, 1)
    with pytest.raises(EstimationError) as e:
        rr_regression(qp.svydesign(df, weights="one"), "a ~ x1", **kw)
    assert e.value.param == param
    assert param in str(e.value)


def test_formula_term_absent_from_the_data():
    df = simulate("forced", 200, 1)
    for f in ("a ~ x1 + x9", "b ~ x1"):
        with pytest.raises(ColumnError) as e:
            rr_regression(qp.svydesign(df, weights="one"), f, **rr_kw("forced"))
        assert e.value.param == "formula"
    with pytest.raises(EstimationError) as e:
        rr_regression(qp.svydesign(df, weights="one"), "a ~ x1", variance="naive", **rr_kw("forced"))
    assert e.value.param == "variance"


@settings(max_examples=30, deadline=None)
@given(p=st.floats(0.01, 0.99), h=st.floats(0.0, 1.0))
def test_affine_transform_is_the_warner_design(p, h):
    """P(yes) = c + a h reproduces Warner's p h + (1 - p)(1 - h) wherever p != 0.5."""
    if abs(p - 0.5) < 1e-6:
        with pytest.raises(EstimationError):
            rr_affine("warner", p=p)
        return
    a, c = rr_affine("warner", p=p)
    assert c + a * h == pytest.approx(p * h + (1 - p) * (1 - h), abs=1e-12)


def test_prevalence_at_zero_warns_that_the_fit_ran_to_the_boundary():
    """Only forced answers ("yes" at the rate p_yes, never above it): the truth is 0 everywhere."""
    rng = np.random.default_rng(1)
    n = 800
    df = pl.DataFrame({"a": (rng.random(n) < 0.1).astype(int), "x1": rng.normal(size=n), "one": np.ones(n)})
    with pytest.warns(UserWarning, match="separation"):
        res = rr_regression(qp.svydesign(df, weights="one"), "a ~ x1", rr_design="forced", p_truth=0.7, p_yes=0.15)
    assert res.extra["boundary"] is True
