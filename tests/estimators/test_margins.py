"""Predictive margins and average marginal effects (estimators/margins.py), svyvar and svytable
errors: checks by independent computation (R's values are in tests/reference/test_glm2_vs_r.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.design import DesignSpec
from quietpoll.errors import QuietpollError
from quietpoll.estimators.descriptives import svytable, svyvar
from quietpoll.estimators.margins import ame, predictive_margins

REF = Path(__file__).parents[1] / "reference" / "data"


def strat():
    return DesignSpec.from_mapping(dict(weights="pw", strata="stype", fpc=["fpc"])).build(
        qp.read_data(REF / "apistrat.csv").frame
    )


def boot():
    return DesignSpec.from_mapping(dict(weights="pw", replicates=dict(columns="rw*", type="bootstrap"))).build(
        qp.read_data(REF / "apistrat_boot.csv").frame
    )


def fit(des, formula, family="gaussian"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return qp.glm(des, formula, family)


def test_replicate_margins_by_hand():
    des = boot()
    res = fit(des, "hi700 ~ ell + meals", "binomial")
    m = predictive_margins(res, "stype")
    full = fit(des, "hi700 ~ ell + meals + stype", "binomial")
    f = des.data
    levels = list(m.names)
    assert levels == f.get_column("stype").unique(maintain_order=True).to_list()
    b = full.coef
    ell, meals = f.get_column("ell").cast(pl.Float64).to_numpy(), f.get_column("meals").cast(pl.Float64).to_numpy()
    w = des.weights
    W = des.rep_matrix(np.arange(des.n))  # (n, R)
    fits, grads = [], []
    for lv in levels:
        X = np.column_stack(
            [np.ones(des.n), ell, meals, np.full(des.n, lv == "H", float), np.full(des.n, lv == "M", float)]
        )
        mu = 1 / (1 + np.exp(-(X @ b)))
        fits.append(mu)
        grads.append((w * mu * (1 - mu)) @ X / w.sum())
    F = np.column_stack(fits)
    est = w @ F / w.sum()
    reps = (W.T @ F) / W.sum(axis=0)[:, None]
    Vcond = des.rep_variance(reps, est)
    G = np.column_stack(grads)
    np.testing.assert_allclose(m.coef(), est, rtol=1e-12)
    np.testing.assert_allclose(m.vcov(), G.T @ full.vcov @ G + Vcond, rtol=1e-9)


def test_ame_of_a_linear_term_is_its_coefficient():
    res = fit(strat(), "api00 ~ ell + meals + stype")
    (a,) = ame(res, "ell")
    row = next(r for r in res.coefficients() if r["term"] == "ell")
    assert a["estimate"] == pytest.approx(row["estimate"], rel=1e-8)
    assert a["se"] == pytest.approx(row["se"], rel=1e-7)
    assert a["df"] == res.df_residual


def test_ame_of_a_quadratic_term():
    des = strat()
    res = fit(des, "api00 ~ ell + I(ell^2) + meals")
    (a,) = ame(res, "ell")
    x = des.data.get_column("ell").cast(pl.Float64).to_numpy()
    w = des.weights
    b1, b2 = res.coef[1], res.coef[2]
    assert a["estimate"] == pytest.approx(b1 + 2 * b2 * (w @ x) / w.sum(), rel=1e-8)


def test_ame_logistic_equals_the_derivative_of_the_mean_prediction():
    des = strat()
    res = fit(des, "hi700 ~ ell + meals + stype", "binomial")
    (a,) = ame(res, "ell")
    f = des.data
    h = 1e-4
    means = []
    for s in (h, -h):
        p = res.predict(f.with_columns(pl.col("ell") + s), type="response")["estimate"]
        means.append(des.weights @ p / des.weights.sum())
    assert a["estimate"] == pytest.approx((means[0] - means[1]) / (2 * h), rel=1e-6)
    assert a["se"] > 0


def test_ame_of_a_factor_is_a_difference_of_margins():
    res = fit(strat(), "hi700 ~ ell + meals + stype", "binomial")
    rows = ame(res, "stype")
    assert [(r["level"], r["reference"]) for r in rows] == [("H", "E"), ("M", "E")]
    m = predictive_margins(res, "stype", levels=["E", "H", "M"])  # in the model: no refit
    c = np.array([-1.0, 1.0, 0.0])
    assert rows[0]["estimate"] == pytest.approx(c @ m.coef(), rel=1e-12)
    assert rows[0]["se"] == pytest.approx(np.sqrt(c @ m.vcov() @ c), rel=1e-12)


def test_margins_errors():
    res = fit(strat(), "api00 ~ ell")
    with pytest.raises(QuietpollError, match="nosuch"):
        predictive_margins(res, "nosuch")
    with pytest.raises(QuietpollError, match="not a variable of the model"):
        ame(res, "meals")


def test_svyvar_and_svytable_errors():
    des = strat()
    with pytest.raises(QuietpollError, match="nosuch"):
        svyvar(des, "nosuch")
    with pytest.raises(QuietpollError, match="ntotal"):
        svytable(des, ["stype"], ntotal=-1)
    with pytest.raises(QuietpollError, match="at least one"):
        svytable(des, [])
    t = svytable(des, "stype", ntotal=100)
    assert t.counts.sum() == pytest.approx(100) and t.to_dict()["levels"] == [["E", "H", "M"]]
