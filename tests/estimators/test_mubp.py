"""MUBP (Andridge, West, Little, Boonstra & Alvarado-Leiton 2019, JRSS A): against an independent R
implementation of the paper's two-step ML estimator (make_golden_mubp.R: glm probit, optimize) at
rtol 1e-6, on a synthetic non-probability sample with and without population covariances and
population size; against a second independent implementation written out here (probit by scipy
BFGS, the biserial likelihood in its bivariate-normal form); the known truth of the synthetic
population inside the reported range; properties; bad input naming the parameter."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import minimize, minimize_scalar

import quietpoll as qp
from quietpoll.errors import ColumnError, EstimationError
from quietpoll.estimators.mubp import mubp

REF = Path(__file__).parents[1] / "reference"
GOLDEN = json.loads((REF / "golden" / "mubp.json").read_text())
DATA = qp.read_data(REF / "data" / "mubp.csv").frame
MEANS = {k: v[0] for k, v in GOLDEN["means"].items()}
COV = np.array(GOLDEN["cov"])
PHI = GOLDEN["phi"]


def one(v):
    return v[0] if isinstance(v, list) else v


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["id"] for c in GOLDEN["cases"]])
def test_matches_independent_r_implementation(case):
    res = mubp(
        DATA,
        "y ~ z1 + z2",
        MEANS,
        population_cov=COV if one(case["with_cov"]) else None,
        population_size=one(case["population_size"]),
        phi=PHI,
    )
    np.testing.assert_allclose(res.coef, case["coef"], rtol=1e-7)
    np.testing.assert_allclose(res.mubp, case["mubp"], rtol=1e-6)
    assert res.rho == pytest.approx(one(case["rho"]), rel=1e-6)
    assert res.proxy_sample_mean == pytest.approx(one(case["proxy_sample_mean"]), rel=1e-7)
    assert res.proxy_sample_var == pytest.approx(one(case["proxy_sample_var"]), rel=1e-7)
    assert res.proxy_nonsampled_mean == pytest.approx(one(case["proxy_nonsampled_mean"]), rel=1e-7)
    assert res.proxy_nonsampled_var == pytest.approx(one(case["proxy_nonsampled_var"]), rel=1e-7)
    lo, hi = res.interval
    assert lo <= min(res.mubp) + 1e-15 and hi >= max(res.mubp) - 1e-15


def independent(y, Z, zbar, S=None, phis=(0, 0.5, 1)):
    """The paper's estimator written out again: probit proxy, biserial rho with the cut point fixed
    (U | x normal with mean mu_u + rho (x - xbar)/s_x and variance 1 - rho^2), pattern-mixture
    shift of U's mean and variance in the non-sampled part."""
    X = np.column_stack([np.ones(len(y)), Z])

    def nll(b):
        return -stats.norm.logcdf((2 * y - 1) * (X @ b)).sum() / len(y)

    b = minimize(nll, np.zeros(X.shape[1]), method="BFGS", options={"gtol": 1e-11}).x
    x = X @ b
    xbar, sx = x.mean(), x.std()
    mu_u = stats.norm.ppf(y.mean())

    def nll_rho(r):
        p = stats.norm.cdf((mu_u + r * (x - xbar) / sx) / math.sqrt(1 - r * r))
        return -(y * np.log(p) + (1 - y) * np.log1p(-p)).sum()

    rho = minimize_scalar(nll_rho, bounds=(-0.99, 0.99), method="bounded", options={"xatol": 1e-12}).x
    x1 = b[0] + zbar @ b[1:]
    v1 = x.var() if S is None else b[1:] @ S @ b[1:]
    out = []
    for phi in phis:
        g = 1 / rho if phi == 1 else (phi + (1 - phi) * rho) / (phi * rho + 1 - phi)
        m = mu_u + g * (x1 - xbar) / sx
        v = max(1 + g * g * (v1 - sx**2) / sx**2, np.finfo(float).eps)
        out.append(y.mean() - stats.norm.cdf(m / math.sqrt(v)))
    return np.array(out)


@pytest.mark.parametrize("with_cov", [False, True])
def test_matches_independent_python_implementation(with_cov):
    y = DATA["y"].to_numpy().astype(float)
    Z = DATA.select("z1", "z2").to_numpy()
    zbar = np.array([MEANS["z1"], MEANS["z2"]])
    ref = independent(y, Z, zbar, COV if with_cov else None)
    res = mubp(DATA, "y ~ z1 + z2", MEANS, population_cov=COV if with_cov else None)
    np.testing.assert_allclose(res.mubp, ref, rtol=1e-6)
    assert res.phi == (0.0, 0.5, 1.0)


def test_known_truth_inside_the_range():
    """The sample was drawn with selection on both z1 and the outcome: its real bias (sample mean -
    population mean, known for the synthetic population) lies inside [MUBP(0), MUBP(1)]."""
    res = mubp(DATA, "y ~ z1 + z2", MEANS, population_cov=COV, population_size=20000)
    bias = one(GOLDEN["sample_mean_y"]) - one(GOLDEN["population_mean_y"])
    lo, hi = res.interval
    assert lo < bias < hi, (lo, bias, hi)
    assert res.mubp[0] < bias  # the covariates explain only part of the bias
    d = res.to_dict()
    assert [r["phi"] for r in d["rows"]] == [0.0, 0.5, 1.0] and d["mubp_low"] == lo
    assert json.loads(json.dumps(d))["probit"]["z1"] == pytest.approx(res.coef[1])


def test_no_bias_when_the_population_looks_like_the_sample():
    zs = {"z1": float(DATA["z1"].mean()), "z2": float(DATA["z2"].mean())}
    res = mubp(DATA, "y ~ z1 + z2", zs)
    np.testing.assert_allclose(res.mubp, 0.0, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-1.0, 1.0).filter(lambda s: abs(s) > 1e-3))
def test_bias_follows_the_proxy(shift):
    """A population whose proxy mean lies below the sample's gives a positive MUBP at every phi (the
    sample over-represents the outcome), and the reverse."""
    zs = {"z1": float(DATA["z1"].mean()) + shift, "z2": float(DATA["z2"].mean())}
    res = mubp(DATA, "y ~ z1 + z2", zs)
    direction = np.sign(res.proxy_sample_mean - res.proxy_nonsampled_mean)
    assert np.all(np.sign(res.mubp) == direction)


def test_factor_covariates_by_r_column_name():
    df = DATA.with_columns(DATA["z2"].cast(str).replace({"0": "no", "1": "yes"}).alias("g"))
    a = mubp(df, "y ~ z1 + g", {"z1": MEANS["z1"], "gyes": MEANS["z2"]})
    b = mubp(DATA, "y ~ z1 + z2", MEANS)
    np.testing.assert_allclose(a.mubp, b.mubp, rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs,param,error",
    [
        ({"population_means": {"z1": 0.0}}, "population_means", EstimationError),
        ({"population_cov": np.eye(3)}, "population_cov", EstimationError),
        ({"population_cov": {"z1": {"z1": 1.0}}}, "population_cov", EstimationError),
        ({"population_cov": np.array([[1.0, 2.0], [2.0, 1.0]])}, "population_cov", EstimationError),
        ({"population_size": 100}, "population_size", EstimationError),
        ({"phi": (0, 1.5)}, "phi", EstimationError),
        ({"formula": "y ~ z1 + z9"}, "formula", ColumnError),
        ({"formula": "z1 ~ z2"}, "formula", EstimationError),
        ({"formula": "y z1"}, "formula", EstimationError),
    ],
)
def test_bad_input_names_the_parameter(kwargs, param, error):
    args = {"formula": "y ~ z1 + z2", "population_means": MEANS, **kwargs}
    with pytest.raises(error) as e:
        mubp(DATA, args.pop("formula"), args.pop("population_means"), **args)
    assert e.value.param == param
