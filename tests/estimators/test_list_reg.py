"""List-experiment regression (Imai 2011; Blair & Imai 2012, R's ictreg): the ML model against its
likelihood written out here independently (scipy.stats.binom, maximized with scipy's BFGS on a
central-difference gradient), its model SEs against the inverse of a numerical Hessian, the linear
model's model SEs against ordinary least squares; intercept-only fits against quietpoll's tested
no-covariate estimators (Imai's ML estimator and the difference in means, Taylor and replicate
designs); design-based SEs on a clustered design checked by a Monte Carlo; bad input naming the
parameter; a hypothesis property (invariance to the scale of the weights). All data are synthetic."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import minimize

import quietpoll as qp
from quietpoll.errors import ColumnError, EstimationError
from quietpoll.estimators.list_ml import list_experiment_ml
from quietpoll.estimators.list_reg import list_regression
from quietpoll.estimators.sensitive import list_experiment
from quietpoll.weighting.apply import WeightingSpec

J = 3


def simulate(n, seed, *, clusters=None, icc=0.0, cluster_lists=False):
    """Synthetic list experiment; with `clusters`, a cluster effect on covariate and both items, and
    with `cluster_lists` the list assigned by cluster (every respondent of a village gets the same
    list), so that cluster effects on the control items do not cancel."""
    rng = np.random.default_rng(seed)
    cl = np.arange(n) if clusters is None else rng.integers(0, clusters, n)
    u = rng.normal(size=(cl.max() + 1)) * math.sqrt(icc)
    x1 = rng.normal(size=n) + u[cl]
    x2 = rng.integers(0, 2, n)
    h = 1 / (1 + np.exp(-(-0.7 + 0.6 * x1 + 0.8 * x2 + 2 * u[cl])))
    g = 1 / (1 + np.exp(-(0.2 - 0.4 * x1 + 2 * u[cl])))
    t = rng.integers(0, 2, cl.max() + 1)[cl] if cluster_lists else rng.integers(0, 2, n)
    y = rng.binomial(J, g) + t * (rng.random(n) < h)
    return pl.DataFrame({"count": y, "treat": t, "x1": x1, "x2": x2, "cl": cl, "one": np.ones(n)})


def independent_loglik(par, X, y, t):
    """Imai (2011): control Binomial(J, g(x'psi)); treated h Pr(Y0 = y - 1) + (1 - h) Pr(Y0 = y)."""
    p = X.shape[1]
    h = 1 / (1 + np.exp(-(X @ par[:p])))
    g = 1 / (1 + np.exp(-(X @ par[p:])))
    ctrl = stats.binom.pmf(y, J, g)
    treated = h * stats.binom.pmf(y - 1, J, g) + (1 - h) * stats.binom.pmf(y, J, g)
    return np.log(np.where(t == 1, treated, ctrl)).sum()


def num_grad(f, x, eps=1e-6):
    e = np.eye(len(x)) * eps
    return np.array([(f(x + e[i]) - f(x - e[i])) / (2 * eps) for i in range(len(x))])


def num_hess(f, x, h=1e-3):
    """Second differences of f (error about 1e-7 relative on these likelihoods)."""
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


@pytest.fixture(scope="module")
def srs():
    return simulate(800, 11)


def test_ml_equals_the_published_likelihood_maximized_independently(srs):
    des = qp.svydesign(srs, weights="one")
    res = list_regression(des, "count ~ x1 + x2", "treat", method="ml", variance="model")
    X = np.column_stack([np.ones(srs.height), srs["x1"].to_numpy(), srs["x2"].to_numpy()])
    y, t = srs["count"].to_numpy(), srs["treat"].to_numpy()
    n = len(y)

    def f(par):
        return -independent_loglik(par, X, y, t) / n

    opt = minimize(f, np.zeros(6), jac=lambda p: num_grad(f, p), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(res.coef, opt.x, rtol=1e-6, atol=1e-8)
    assert res.loglik == pytest.approx(independent_loglik(opt.x, X, y, t), rel=1e-10)
    # ictreg's SEs on a simple random sample: the inverse observed information
    V = np.linalg.inv(-num_hess(lambda p: independent_loglik(p, X, y, t), opt.x))
    np.testing.assert_allclose(res.se, np.sqrt(np.diag(V)), rtol=1e-5)
    assert [r["part"] for r in res.coefficients()] == ["sensitive"] * 3 + ["control"] * 3
    assert [r["term"] for r in res.coefficients()][:3] == ["(Intercept)", "x1", "x2"]


def test_lm_model_se_is_ordinary_least_squares(srs):
    des = qp.svydesign(srs, weights="one")
    res = list_regression(des, "count ~ x1 + x2", "treat", method="lm", variance="model")
    x1, x2, t = srs["x1"].to_numpy(), srs["x2"].to_numpy(), srs["treat"].to_numpy()
    X = np.column_stack([t, x1 * t, x2 * t, np.ones_like(x1), x1, x2])  # sensitive, then control
    y = srs["count"].to_numpy().astype(float)
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    e = y - X @ b
    V = e @ e / (len(y) - 6) * np.linalg.inv(X.T @ X)
    np.testing.assert_allclose(res.coef, b, rtol=1e-9)
    np.testing.assert_allclose(res.se, np.sqrt(np.diag(V)), rtol=1e-9)


@pytest.mark.parametrize("kind", ["taylor", "replicate", "poststratified"])
def test_intercept_only_prevalence_equals_imai_ml_and_difference(kind):
    df = simulate(600, 5, clusters=40, icc=0.2).with_columns(
        (pl.col("cl") % 4).alias("st"), (1 + (pl.col("x2") * 2)).cast(pl.Float64).alias("w")
    )
    des = qp.svydesign(df, ids="cl", strata="st", weights="w", nest=True)
    if kind == "replicate":
        des = qp.as_svrepdesign(des, type="JKn")
    if kind == "poststratified":
        des = des.weight(WeightingSpec(method="poststratify", targets={"x2": {"0": 700, "1": 300}}, population=1000))
    ml = list_regression(des, "count ~ 1", "treat", method="ml")
    p = ml.prevalence(des)[0]
    ref = list_experiment_ml(des, "count", "treat").rows[0]
    assert p["estimate"] == pytest.approx(ref.estimate, rel=1e-7)
    assert p["se"] == pytest.approx(ref.se, rel=1e-5)
    lm = list_regression(des, "count ~ 1", "treat", method="lm")
    p = lm.prevalence(des)[0]
    ref = list_experiment(des, "count", "treat").rows[0]
    assert p["estimate"] == pytest.approx(ref.estimate, rel=1e-9)
    assert p["se"] == pytest.approx(ref.se, rel=1e-7)


def test_prevalence_by_group_is_the_weighted_mean_of_predictions(srs):
    des = qp.svydesign(srs, weights="one")
    res = list_regression(des, "count ~ x1 + x2", "treat", method="ml")
    rows = res.prevalence(des, by="x2")
    X = np.column_stack([np.ones(srs.height), srs["x1"].to_numpy(), srs["x2"].to_numpy()])
    h = 1 / (1 + np.exp(-(X @ res.coef[:3])))
    for r in rows:
        m = srs["x2"].to_numpy() == int(r["x2"])
        assert r["estimate"] == pytest.approx(h[m].mean(), rel=1e-12)
        assert r["ci_low"] < r["estimate"] < r["ci_high"] and r["n"] == m.sum()
    # the groups differ as the model says (x2's sensitive slope is 0.8 in truth)
    assert rows[1]["estimate"] > rows[0]["estimate"]


def test_design_se_by_monte_carlo_on_a_clustered_design():
    """200 clustered samples (lists assigned by cluster): the mean design-based (sandwich) SE of the
    sensitive coefficients
    is within 20% of their Monte Carlo SD, while the model SE, which ignores the clustering, falls
    well short (so the check can tell the two apart); 90% intervals cover the Monte Carlo mean."""
    est, se_d, se_m = [], [], []
    for s in range(200):
        df = simulate(500, 1000 + s, clusters=25, icc=0.15, cluster_lists=True)
        des = qp.svydesign(df, ids="cl", weights="one")
        r = list_regression(des, "count ~ x1", "treat", method="ml")
        est.append(r.coef[:2])
        se_d.append(r.se[:2])
        se_m.append(np.sqrt(np.diag(r.vcov_model))[:2])
    est, se_d, se_m = map(np.array, (est, se_d, se_m))
    sd = est.std(axis=0, ddof=1)
    ratio_d = se_d.mean(axis=0) / sd
    ratio_m = se_m.mean(axis=0) / sd
    assert np.all((ratio_d > 0.8) & (ratio_d < 1.2)), ratio_d
    assert ratio_m[0] < 0.65 and ratio_m[1] < 0.9, ratio_m
    centre = est.mean(axis=0)
    q = stats.t.ppf(0.95, 23)
    cover = (np.abs(est - centre) <= q * se_d).mean(axis=0)
    assert np.all((cover > 0.84) & (cover < 0.97)), cover


def test_replicate_se_close_to_linearization():
    df = simulate(1200, 7, clusters=60, icc=0.15)
    des = qp.svydesign(df, ids="cl", weights="one")
    tay = list_regression(des, "count ~ x1", "treat", method="ml")
    rep = list_regression(qp.as_svrepdesign(des, type="JK1"), "count ~ x1", "treat", method="ml")
    np.testing.assert_allclose(rep.coef, tay.coef, rtol=1e-10)
    assert np.all(np.abs(rep.se / tay.se - 1) < 0.15), rep.se / tay.se
    pr, pt = rep.prevalence(qp.as_svrepdesign(des, type="JK1"))[0], tay.prevalence(des)[0]
    assert pr["estimate"] == pytest.approx(pt["estimate"], rel=1e-10)
    assert abs(pr["se"] / pt["se"] - 1) < 0.15


def test_missing_values_leave_rows_out_of_the_fit_not_the_design(srs):
    df = srs.with_columns(pl.when(pl.int_range(pl.len()) % 17 == 0).then(None).otherwise(pl.col("x1")).alias("x1"))
    des = qp.svydesign(df, weights="one")
    res = list_regression(des, "count ~ x1 + x2", "treat", method="ml")
    assert res.n == df.height - df["x1"].null_count()
    ref = list_regression(qp.svydesign(df.drop_nulls("x1"), weights="one"), "count ~ x1 + x2", "treat")
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-9)


# ---- bad input: one error naming the parameter -------------------------------------------------------


def test_formula_term_absent_from_the_data(srs):
    des = qp.svydesign(srs, weights="one")
    for method in ("ml", "lm"):
        for formula, name in (("count ~ x1 + x9", "x9"), ("cnt ~ x1", "cnt")):
            with pytest.raises(ColumnError, match=name) as e:
                list_regression(des, formula, "treat", method=method)
            assert e.value.param == "formula"


def test_list_model_without_a_treatment_column(srs):
    des = qp.svydesign(srs.drop("treat"), weights="one")
    for treatment in ("treat", None, ""):
        with pytest.raises(ColumnError, match="treatment") as e:
            list_regression(des, "count ~ x1", treatment)
        assert e.value.param == "treatment"


def test_other_bad_options(srs):
    des = qp.svydesign(srs, weights="one")
    cases = [({"method": "probit"}, "method"), ({"variance": "robust"}, "variance"), ({"level": 1.5}, "level")]
    for kw, param in cases:
        with pytest.raises(EstimationError) as e:
            list_regression(des, "count ~ x1", "treat", **kw)
        assert e.value.param == param
    with pytest.raises(EstimationError) as e:
        list_regression(des, "count x1", "treat")
    assert e.value.param == "formula"
    with pytest.raises(EstimationError) as e:
        list_regression(des, "count ~ x1 + treat", "treat")
    assert e.value.param == "treatment"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scale=st.floats(0.01, 1000), seed=st.integers(0, 10_000))
def test_weight_scale_invariance(scale, seed):
    """Multiplying every weight by a constant changes neither the estimates nor the design SEs."""
    df = simulate(300, seed).with_columns((pl.col("x2") + 1.0).alias("w"))
    a = list_regression(qp.svydesign(df, weights="w"), "count ~ x1", "treat")
    b = list_regression(qp.svydesign(df.with_columns(pl.col("w") * scale), weights="w"), "count ~ x1", "treat")
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-6)


def test_prevalence_at_zero_warns_that_the_fit_ran_to_the_boundary():
    """Nobody holds the sensitive item: the ML fit's intercept runs off to -infinity; the fit says so."""
    rng = np.random.default_rng(0)
    n = 600
    df = pl.DataFrame(
        {"count": rng.binomial(J, 0.4, n), "treat": rng.integers(0, 2, n), "x1": rng.normal(size=n), "one": np.ones(n)}
    )
    with pytest.warns(UserWarning, match="separation"):
        res = list_regression(qp.svydesign(df, weights="one"), "count ~ x1", "treat")
    assert res.extra["boundary"] is True
    ok = list_regression(qp.svydesign(simulate(600, 3), weights="one"), "count ~ x1", "treat")
    assert ok.extra["boundary"] is False


def test_text_treatment_and_json(srs):
    """A treatment coded as text gives the same fit as 0/1; the result's dict is JSON."""
    import json

    text = srs.with_columns(
        pl.when(pl.col("treat") == 1).then(pl.lit("treated")).otherwise(pl.lit("control")).alias("treat")
    )
    for method in ("lm", "ml"):
        a = list_regression(qp.svydesign(srs, weights="one"), "count ~ x1 + x2", "treat", method=method)
        b = list_regression(qp.svydesign(text, weights="one"), "count ~ x1 + x2", "treat", method=method)
        np.testing.assert_allclose(b.coef, a.coef, rtol=1e-12)
        np.testing.assert_allclose(b.se, a.se, rtol=1e-10)
        d = json.loads(json.dumps(b.to_dict()))
        assert d["model"]["method"] == method and d["model"]["control_items"] == J
        assert {r["part"] for r in d["coefficients"]} == {"sensitive", "control"}


def test_formulas_cannot_run_code(srs, tmp_path):
    """Formulas go through formula.py's whitelist (formulaic evaluates terms as Python): a call that
    is not an allowed function is refused before anything runs, in all three new estimators."""
    from quietpoll.estimators.mubp import mubp
    from quietpoll.estimators.rr_reg import rr_regression

    marker = tmp_path / "ran"
    evil = f"__import__('pathlib').Path('{marker}').touch()"
    des = qp.svydesign(srs, weights="one")
    calls = [
        lambda: list_regression(des, f"count ~ x1 + {evil}", "treat", method="ml"),
        lambda: list_regression(des, f"count ~ x1 + {evil}", "treat", method="lm"),
        lambda: rr_regression(des, f"x2 ~ x1 + {evil}", rr_design="warner", p=0.7),
        lambda: mubp(srs, f"x2 ~ x1 + {evil}", {"x1": 0.0}),
    ]
    for call in calls:
        with pytest.raises(EstimationError, match="may not call"):
            call()
    assert not marker.exists()
