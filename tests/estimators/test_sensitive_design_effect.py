"""The Blair-Imai (2012) design-effect test: the joint shares pi(y, z) from the two arms' weighted
CDFs against numpy, their design-based SEs (linearization by hand, replicate re-evaluation), the
likelihood-ratio statistic against scipy's non-negative least squares, the chi-bar-square weights
against the closed form for two components, and the test's verdict on synthetic data with and
without a design effect. All data are synthetic."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy.optimize import nnls

import quietpoll as qp
from quietpoll.errors import ColumnError, EstimationError
from quietpoll.estimators.list_test import DesignEffectTable, _chibar_test, _project, design_effect_test

J = 3


def sample(n=1500, seed=0, effect=0.0, n_psu=None):
    """Control items Binomial(3, 0.5), sensitive item with prevalence 0.3; with `effect`, that share of
    treated respondents report one control item more than they hold (capped at J + 1): a design
    effect that makes some pi(y, 0) negative."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    z = rng.random(n) < 0.3
    y0 = rng.binomial(J, 0.5, n)
    bump = (t == 1) & (rng.random(n) < effect)
    y = np.minimum(y0 + t * z + bump, J + 1)
    psu = np.arange(n) % (n_psu or n)
    return pl.DataFrame(
        {
            "count": y,
            "treat": t,
            "w": rng.uniform(1, 4, n).round(3),
            "psu": psu,
            "g": np.where(rng.random(n) < 0.5, "a", "b"),
        }
    )


def pis_by_hand(y, t, w):
    F1 = np.array([(w * (t == 1) * (y <= k)).sum() / (w * (t == 1)).sum() for k in range(J + 1)])
    F0 = np.array([(w * (t == 0) * (y <= k)).sum() / (w * (t == 0)).sum() for k in range(J + 1)])
    return np.concatenate([F0 - F1, F1 - np.concatenate([[0.0], F0[:-1]])])


def test_pi_estimates_and_srs_linearization_by_hand():
    df = sample(400, seed=1)
    y, t, w = (df[c].to_numpy() for c in ("count", "treat", "w"))
    (res,) = design_effect_test(qp.svydesign(df, weights="w"), "count", "treat")
    est = np.array([p["estimate"] for p in res["pi"]])
    assert [(p["y"], p["z"]) for p in res["pi"]] == [(k, 1) for k in range(J + 1)] + [(k, 0) for k in range(J + 1)]
    assert est == pytest.approx(pis_by_hand(y, t, w), rel=1e-12, abs=1e-15)
    # influence of each row on F_t(k): w 1{T=t} (1{y<=k} - F_t(k)) / W_t; with-replacement variance
    W1, W0 = (w * t).sum(), (w * (1 - t)).sum()
    le = (y[:, None] <= np.arange(J + 1)[None, :]).astype(float)
    F1 = (w * t) @ le / W1
    F0 = (w * (1 - t)) @ le / W0
    d1 = (w * t)[:, None] * (le - F1) / W1
    d0 = (w * (1 - t))[:, None] * (le - F0) / W0
    z = np.concatenate([d0 - d1, d1 - np.concatenate([np.zeros((len(y), 1)), d0[:, :-1]], axis=1)], axis=1)
    n = len(y)
    v = n / (n - 1) * ((z - z.mean(0)) ** 2).sum(0)
    assert [p["se"] for p in res["pi"]] == pytest.approx(np.sqrt(v), rel=1e-10, abs=1e-15)
    assert res["control_items"] == J and res["n"] == n and res["n_missing"] == 0
    json.dumps(res, allow_nan=False)


def test_replicate_se_is_re_evaluation():
    df = sample(600, seed=2, n_psu=30)
    rep = qp.as_svrepdesign(qp.svydesign(df, ids="psu", weights="w"), "JK1")
    y, t = df["count"].to_numpy(), df["treat"].to_numpy()
    W = rep.rep_matrix(slice(None))
    th = np.stack([pis_by_hand(y, t, W[:, r]) for r in range(W.shape[1])])
    v = rep.scale * (rep.rscales[:, None] * (th - th.mean(0)) ** 2).sum(0)
    (res,) = design_effect_test(rep, "count", "treat")
    assert [p["se"] for p in res["pi"]] == pytest.approx(np.sqrt(v), rel=1e-9, abs=1e-14)


def test_lr_statistic_and_face_match_nnls():
    rng = np.random.default_rng(3)
    for m in (2, 3, 4):
        A = rng.normal(size=(m, m))
        S = A @ A.T + 0.2 * np.eye(m)
        theta = rng.normal(0, 1.2, size=(25, m))
        lam, pos = _project(theta, S)
        L = np.linalg.cholesky(np.linalg.inv(S))  # S^-1 = L L'
        for i in range(len(theta)):
            x, r = nnls(L.T, L.T @ theta[i])  # min ||L'(theta - x)|| over x >= 0
            assert lam[i] == pytest.approx(r**2, rel=1e-8, abs=1e-12)
            assert pos[i] == int((x > 1e-12).sum())


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.5])
def test_chi_bar_square_weights_for_two_components(rho):
    S = np.array([[1.0, rho], [rho, 1.0]])
    pi = np.array([-1.2, 0.4])
    lam, p = _chibar_test(pi, S)
    lam_ref, _ = _project(pi[None], S)
    assert lam == pytest.approx(lam_ref[0])
    w0 = 0.25 - math.asin(rho) / (2 * math.pi)  # no component positive: Z in the polar cone
    p_ref = w0 * stats.chi2.sf(lam, 2) + 0.5 * stats.chi2.sf(lam, 1)
    assert p == pytest.approx(p_ref, abs=0.004)
    # feasible estimates: lambda = 0 and p = 1 - P(both positive)
    lam, p = _chibar_test(np.array([0.3, 0.2]), S)
    assert lam == 0.0 and p == pytest.approx(0.75 - math.asin(rho) / (2 * math.pi), abs=0.004)


def test_one_component_is_the_one_sided_normal_test():
    lam, p = _chibar_test(np.array([-0.2]), np.array([[0.01]]))
    assert lam == pytest.approx(4.0) and p == pytest.approx(stats.norm.cdf(-2.0))
    # a negative estimate with no variance at all rejects outright
    assert _chibar_test(np.array([-0.2, 0.1]), np.array([[0.0, 0.0], [0.0, 0.01]])) == (math.inf, 0.0)


def test_no_effect_accepted_and_strong_effect_rejected_with_domains():
    tay = qp.svydesign(sample(3000, seed=4), weights="w")
    for res in design_effect_test(tay, "count", "treat", by="g"):
        assert res["p_value"] > 0.05, res
    bad = qp.svydesign(sample(3000, seed=5, effect=1.0), weights="w")
    res = design_effect_test(bad, "count", "treat")[0]
    assert res["p_value"] < 0.001
    assert min(p["estimate"] for p in res["pi"]) < 0
    assert res["p_value"] == pytest.approx(min(1.0, 2 * min(res["p_value_z1"], res["p_value_z0"])))


def test_api_estimate_adds_the_test_to_the_json():
    df = sample(800, seed=6, n_psu=40)
    for des in (
        qp.svydesign(df, ids="psu", weights="w"),
        qp.as_svrepdesign(qp.svydesign(df, ids="psu", weights="w"), "bootstrap", replicates=30, seed=1),
    ):
        tab = qp.estimate(
            df, des, list_experiment=("count", "treat"), list_method="ml", by=["g"], design_effect_test=True
        )
        assert isinstance(tab, DesignEffectTable)
        obj = tab.to_json_obj()
        json.dumps(obj, allow_nan=False)
        assert [r["method"] for r in obj["estimates"]] == ["ml", "ml"]
        assert [r["domain"] for r in obj["design_effect_test"]] == [{"g": "a"}, {"g": "b"}]
        one = qp.estimate(df, des, list_experiment=("count", "treat"), domain={"g": "b"}, design_effect_test=True)
        assert [r["domain"] for r in one.design_effect_test] == [{"g": "b"}]
        assert one.rows[0].method == "diff"


def test_bad_input():
    df = sample(200, seed=7)
    with pytest.raises(EstimationError, match="no treated rows"):
        design_effect_test(
            qp.svydesign(df.with_columns(pl.lit(0).alias("treat"), pl.col("count").clip(0, J))),
            "count",
            "treat",
            control_items=J,
        )
    with pytest.raises(ColumnError, match="whole numbers"):
        design_effect_test(qp.svydesign(df.with_columns(pl.col("count") / 2)), "count", "treat")
    # the Python API names its parameters (the CLI writes them as flags)
    with pytest.raises(EstimationError, match="^design_effect_test needs a list experiment \\(list_experiment"):
        qp.estimate(df, qp.svydesign(df), mean_=["count"], design_effect_test=True)
    with pytest.raises(EstimationError, match="^control_items applies to list_method ml"):
        qp.estimate(df, qp.svydesign(df), list_experiment=("count", "treat"), control_items=3)
    with pytest.raises(EstimationError, match="^list_method must be one of"):
        qp.estimate(df, qp.svydesign(df), list_experiment=("count", "treat"), list_method="mle")
