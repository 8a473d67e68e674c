"""The fast model matrix (formula_fast.py, model_matrix.py) equals formulaic's own materialization:
names, order, values, the response and the complete rows, over many formulas (factor(), text
columns, interactions, numeric products, no intercept, missing values, subsets) and random data; the
formulas it does not handle (I(), numeric transforms, poly(), C(), relevel, Boolean and categorical
columns) fall back to formulaic; the structured operations equal their dense counterparts; GLMs fitted
with and without the fast path agree."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quietpoll as qp
import quietpoll.estimators.formula_fast as ff
from quietpoll.estimators.formula import model_frame
from quietpoll.estimators.model_matrix import FactoredScores, StructuredX


def _frame(n=400, seed=1, missing=True):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    x = rng.normal(size=n)
    h = rng.choice(["a", "b", "c"], n).tolist()
    if missing:
        y[rng.random(n) < 0.05] = np.nan
        x[rng.random(n) < 0.03] = np.nan
        h = [None if r < 0.04 else v for v, r in zip(h, rng.random(n))]
    return pl.DataFrame(
        {
            "y": y,
            "x": x,
            "z": rng.integers(-3, 5, n),
            "g": rng.integers(0, 4, n),
            "neg": rng.integers(-12, -8, n),
            "h": pl.Series(h, dtype=pl.String),
            "f": rng.choice([0.5, 1.0, 2.25], n),
            "bin": rng.integers(0, 2, n),
            "count": rng.poisson(3.0, n),
            "bo": rng.random(n) > 0.5,
            "cat": pl.Series(rng.choice(["u", "v"], n).tolist(), dtype=pl.Categorical),
        }
    )


def _both(monkeypatch, frame, formula, rows=None):
    """(fast-path model frame, whether the fast path was taken, formulaic's model frame)."""
    taken = []
    real = ff.fast_model_matrix

    def spy(*a):
        r = real(*a)
        taken.append(r is not None)
        return r

    monkeypatch.setattr(ff, "fast_model_matrix", spy)
    fast = model_frame(frame, formula, rows)
    monkeypatch.setattr(ff, "fast_model_matrix", lambda *a: None)
    ref = model_frame(frame, formula, rows)
    monkeypatch.setattr(ff, "fast_model_matrix", real)
    return fast, taken == [True], ref


def _assert_same(a, b):
    assert a.names == b.names
    assert a.X.shape == b.X.shape and a.X.flags.f_contiguous
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.complete, b.complete)
    assert tuple(a.spec.column_names) == tuple(b.spec.column_names)


FAST = [
    "y ~ x",
    "y ~ x + factor(g)",
    "y ~ x * factor(g)",
    "y ~ 0 + factor(g)",
    "y ~ factor(g) - 1 + x",
    "y ~ x:factor(g)",
    "y ~ factor(g):factor(h)",
    "y ~ factor(g) * factor(h)",
    "y ~ factor(g) * factor(h) * x",
    "y ~ (x + factor(g) + factor(h))^2",
    "y ~ x:z - 1",
    "y ~ x:z:count",
    "y ~ factor(g) + x:factor(h)",
    "y ~ h",
    "y ~ h * x",
    "y ~ factor(h)",
    "y ~ factor(f)",
    "y ~ factor(neg) + factor(z)",
    "z ~ factor(z)",
    "count ~ x + factor(g) + h",
    "bin ~ x + factor(g)",
    "y ~ 1",
]

SLOW = [
    "y ~ I(x**2) + x",
    "y ~ I(x^2) + factor(g)",
    "y ~ log(count + 1) + x",
    "y ~ sqrt(count) + factor(g)",
    "y ~ poly(x, 2)",
    "y ~ C(g)",
    "y ~ relevel(factor(g), ref = 2)",
    "y ~ bo",
    "y ~ x + factor(bo)",
    "y ~ cat",
    "y ~ factor(cat) + x",
    "I(y * 2) ~ x",
    "y ~ center(x)",
]


@pytest.mark.parametrize("formula", FAST + SLOW)
@pytest.mark.parametrize("subset", [False, True])
def test_fast_path_equals_formulaic(monkeypatch, formula, subset):
    frame = _frame()
    rows = np.flatnonzero(np.random.default_rng(7).random(frame.height) < 0.6) if subset else None
    fast, taken, ref = _both(monkeypatch, frame, formula, rows)
    assert taken == (formula in FAST)  # the fast path is really exercised, and declines the rest
    _assert_same(fast, ref)


_TERMS = ["x", "z", "factor(g)", "factor(h)", "h", "factor(f)", "count", "factor(neg)"]


@st.composite
def _formulas(draw):
    terms = draw(st.lists(st.sampled_from(_TERMS), min_size=1, max_size=3, unique=True))
    pieces = []
    for t in terms:
        if draw(st.booleans()):
            other = draw(st.sampled_from(_TERMS))
            pieces.append(f"{t}{draw(st.sampled_from([':', '*']))}{other}" if other != t else t)
        else:
            pieces.append(t)
    tail = draw(st.sampled_from(["", " - 1", " + 0"]))
    return "y ~ " + " + ".join(pieces) + tail


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(formula=_formulas(), seed=st.integers(0, 10**6), n=st.integers(8, 300), missing=st.booleans())
def test_random_formulas_equal_formulaic(monkeypatch, formula, seed, n, missing):
    frame = _frame(n=n, seed=seed, missing=missing)
    try:
        fast, _, ref = _both(monkeypatch, frame, formula)
    except qp.errors.EstimationError:
        return  # no complete row, or a formula formulaic refuses: both paths raise it (formula.py)
    _assert_same(fast, ref)


def test_fast_path_taken_on_the_benchmark_formula(monkeypatch):
    frame = _frame(missing=False)
    fast, taken, ref = _both(monkeypatch, frame, "y ~ bin + factor(g)")
    assert taken and isinstance(fast.matrix, StructuredX)
    _assert_same(fast, ref)


def test_a_level_first_seen_late_is_a_prototype_row(monkeypatch):
    """The prototype rows hold the first row of every level, also of a level that first occurs after
    the rows looked at first (formula_fast._first_rows)."""
    frame = _frame(n=9000, seed=8, missing=False)
    g = frame["g"].to_numpy().copy()
    g[g == 3] = 2
    g[8500] = 3  # level 3 first (and only) at row 8500
    frame = frame.with_columns(pl.Series("g", g))
    fast, taken, ref = _both(monkeypatch, frame, "y ~ x + factor(g)")
    assert taken and fast.names[-1] == "factor(g)3"
    np.testing.assert_array_equal(fast.X, ref.X)
    assert ff._first_rows(np.array([2, 0, 2, 1, 0]), 3).tolist() == [1, 3, 0]


def _structured(formula="y ~ x * factor(g) + factor(g):h + count:factor(f)", n=500):
    frame = _frame(n=n, seed=3, missing=False)
    mf = model_frame(frame, formula)
    assert isinstance(mf.matrix, StructuredX)
    return mf


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x * factor(g) + factor(g):h + count:factor(f)",
        "y ~ 0 + factor(g) + x",  # an indicator block first (no intercept)
        "y ~ 0 + x:factor(g) + count",  # an indicator block with values first
        "y ~ factor(g) + h",  # two indicator blocks and an intercept
    ],
)
def test_structured_operations_equal_dense(formula):
    mf = _structured(formula)
    S, X = mf.matrix, mf.X
    rng = np.random.default_rng(4)
    beta = rng.normal(size=X.shape[1])
    v = rng.normal(size=X.shape[0])
    ww = rng.uniform(0.2, 3.0, X.shape[0])
    np.testing.assert_allclose(S @ beta, X @ beta, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(S.rmatvec(v), X.T @ v, rtol=1e-12, atol=1e-12)
    A = np.column_stack([X, mf.y])
    np.testing.assert_allclose(S.gram(ww, mf.y), A.T @ (A * ww[:, None]), rtol=1e-12, atol=1e-10)
    rows = np.flatnonzero(rng.random(X.shape[0]) < 0.5)
    np.testing.assert_array_equal(S.take(rows).dense(), X[rows])
    mask = rng.random(X.shape[0]) < 0.3
    np.testing.assert_array_equal(S.take(mask).dense(), X[mask])
    units = rng.integers(0, 17, X.shape[0])
    e = rng.normal(size=X.shape[0])
    F = FactoredScores(S, e)
    want = np.zeros((17, X.shape[1]))
    np.add.at(want, units, X * e[:, None])
    np.testing.assert_allclose(F.unit_totals(units, 17), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(F.dense(), X * e[:, None])


def _design(n=3000, seed=5):
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(10), n // 10)
    psu = strata * 100 + rng.integers(0, 6, n)
    g = rng.integers(0, 5, n)
    x = rng.normal(size=n)
    eta = 0.3 * x - 0.2 * g
    d = pl.DataFrame(
        {
            "st": strata,
            "psu": psu,
            "w": rng.uniform(1, 4, n),
            "g": g,
            "x": x,
            "h": pl.Series(rng.choice(["p", "q", "r"], n).tolist(), dtype=pl.String),
            "y": 2 + eta + rng.normal(size=n),
            "b": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64),
            "k": rng.poisson(np.exp(0.5 + 0.2 * eta)),
            "v": rng.gamma(3.0, np.exp(0.2 * eta)),
        }
    )
    return qp.svydesign(d, strata="st", ids="psu", weights="w", nest=True)


@pytest.mark.parametrize(
    "formula, family",
    [
        ("y ~ x + factor(g)", "gaussian"),
        ("y ~ x * factor(g) + h", "gaussian"),
        ("b ~ x + factor(g) + h", "binomial"),
        ("k ~ x:factor(g) + h", "poisson"),
        ("v ~ factor(g) + h", "Gamma"),
    ],
)
@pytest.mark.parametrize("subset", [None, "x > -0.5"])
def test_glm_with_and_without_fast_path(monkeypatch, formula, family, subset):
    des = _design()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = qp.glm(des, formula, family, subset=subset)
        assert isinstance(fast.frame.matrix, StructuredX)
        monkeypatch.setattr(ff, "fast_model_matrix", lambda *a: None)
        ref = qp.glm(des, formula, family, subset=subset)
    assert isinstance(ref.frame.matrix, np.ndarray)
    assert fast.names == ref.names
    np.testing.assert_allclose(fast.coef, ref.coef, rtol=1e-10)
    np.testing.assert_allclose(fast.vcov, ref.vcov, rtol=1e-9)
    assert fast.df_residual == ref.df_residual
    np.testing.assert_allclose(fast.dispersion, ref.dispersion, rtol=1e-10)
    newdata = des.data.head(7)
    np.testing.assert_allclose(fast.predict(newdata)["se"], ref.predict(newdata)["se"], rtol=1e-9)


def test_glm_fast_path_on_calibrated_and_replicate_designs(monkeypatch):
    des = _design()
    cal = des.poststratify({"h": {"p": 3000.0, "q": 3500.0, "r": 2500.0}})
    rep = qp.as_svrepdesign(des, type="bootstrap", replicates=20, seed=3)
    for d in (cal, rep):
        fast = qp.glm(d, "y ~ x + factor(g) + h")
        monkeypatch.setattr(ff, "fast_model_matrix", lambda *a: None)
        ref = qp.glm(d, "y ~ x + factor(g) + h")
        monkeypatch.undo()
        np.testing.assert_allclose(fast.coef, ref.coef, rtol=1e-10)
        np.testing.assert_allclose(fast.vcov, ref.vcov, rtol=1e-9)
