"""quietpoll.glm beyond the R goldens: R's term names from formulaic's, the subset language, domains
that keep every PSU, aliased terms on replicate designs, and the errors a user can cause."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.errors import ColumnError, EstimationError
from quietpoll.estimators.formula import _python_syntax, r_deparse, r_name
from quietpoll.estimators.subset import subset_mask

DATA = Path(__file__).parents[1] / "reference" / "data"


@pytest.fixture(scope="module")
def strat():
    d = qp.read_data(DATA / "apistrat.csv").frame
    return qp.svydesign(d, strata="stype", weights="pw", fpc="fpc")


@pytest.mark.parametrize(
    "formulaic, r",
    [
        ("Intercept", "(Intercept)"),
        ("stype[T.H]", "stypeH"),
        ("factor(dom)[T.2]", "factor(dom)2"),
        ("ell:meals", "ell:meals"),
        ("stype[T.H]:ell", "stypeH:ell"),
        ("ell:stype[E]", "ell:stypeE"),
        ("I(ell ** 2)", "I(ell^2)"),
        ("I((ell + 1) ** 2)", "I((ell + 1)^2)"),
        ("I(ell * 2 - 1)", "I(ell * 2 - 1)"),
        ("poly(meals, 2)[1]", "poly(meals, 2)1"),
        ("relevel(stype, ref='H')[T.E]", 'relevel(stype, ref = "H")E'),
        ("I(api00 > 700)", "I(api00 > 700)"),
    ],
)
def test_r_names(formulaic, r):
    assert r_name(formulaic) == r


def test_power_inside_calls_only():
    assert _python_syntax("y ~ I(x^2) + (a + b)^2") == "y ~ I(x**2) + (a + b)^2"
    assert r_deparse("x - (y - z)") == "x - (y - z)"


def test_formula_language_on_a_design(strat):
    res = qp.glm(strat, "api00 ~ relevel(factor(stype), ref = 'M') + ell*meals + I(ell^2) + avg.ed")
    assert res.names == (
        "(Intercept)",
        'relevel(factor(stype), ref = "M")E',
        'relevel(factor(stype), ref = "M")H',
        "ell",
        "meals",
        "I(ell^2)",
        "avg.ed",
        "ell:meals",
    )
    assert res.n == 200 - int(strat.data["avg.ed"].is_null().sum())


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("stype == 'E'", lambda d: d["stype"] == "E"),
        ('stype != "E" & ell > 20', lambda d: (d["stype"] != "E") & (d["ell"] > 20)),
        ("!(stype in ['E', 'M']) | meals <= 10", lambda d: ~d["stype"].is_in(["E", "M"]) | (d["meals"] <= 10)),
        ("stype %in% c('H') & api00 >= api99", lambda d: (d["stype"] == "H") & (d["api00"] >= d["api99"])),
        ("is.na(avg.ed)", lambda d: d["avg.ed"].is_null()),
        ("avg.ed > 3", lambda d: (d["avg.ed"] > 3).fill_null(False)),  # a missing comparison is false
        ("`acs.k3` < 20", lambda d: (d["acs.k3"] < 20).fill_null(False)),
    ],
)
def test_subset_language(strat, expr, expected):
    d = strat.data
    assert np.array_equal(subset_mask(d, expr), expected(d).to_numpy())


@pytest.mark.parametrize(
    "expr, err, words",
    [
        ("nosuch == 1", ColumnError, "nosuch"),
        ("stype ==", EstimationError, "expected"),
        ("stype = 'E'", EstimationError, "cannot read"),
        ("ell == 'x'", EstimationError, "numeric column 'ell'"),
        ("__import__('os')", ColumnError, "^subset names column"),
        ("", EstimationError, "empty"),
    ],
)
def test_subset_errors(strat, expr, err, words):
    with pytest.raises(err, match=words.replace("(", r"\(")):
        subset_mask(strat.data, expr)


def test_subset_keeps_every_psu(strat):
    """A subset is a domain: the fit's design still has all 200 PSUs (R's subset), so the SE differs from
    fitting on the filtered rows as if they were the whole sample; degrees of freedom come from the rows."""
    sub = qp.glm(strat, "api00 ~ ell", subset="stype == 'E'")
    assert sub.design["n_psu"] == 200
    filtered = strat.data.filter(pl.col("stype") == "E")
    alone = qp.glm(qp.svydesign(filtered, strata="stype", weights="pw", fpc="fpc"), "api00 ~ ell")
    np.testing.assert_allclose(sub.coef, alone.coef, rtol=1e-12)
    assert sub.df_residual == alone.df_residual
    # one stratum in both, same fpc: same SEs here (a domain equal to a whole stratum)
    np.testing.assert_allclose(sub.se, alone.se, rtol=1e-10)
    sub2 = qp.glm(strat, "api00 ~ ell", subset="ell > 20")
    assert sub2.design["n_psu"] == 200 and sub2.n == int((strat.data["ell"] > 20).sum())


def test_aliased_term_on_a_replicate_design(strat):
    """R's svyglm on a replicate design stops on an aliased term; quietpoll refits the replicates on the
    estimable columns and reports the aliased one as NA, as on a Taylor design."""
    rep = qp.as_svrepdesign(strat, "JKn")
    res = qp.glm(rep, "api00 ~ ell + mobility + I(2 * mobility)")
    assert res.aliased.tolist() == [False, False, False, True]
    ok = qp.glm(rep, "api00 ~ ell + mobility")
    np.testing.assert_allclose(res.se[:3], ok.se, rtol=1e-10)
    assert res.coefficients()[3]["estimate"] is None


@pytest.mark.parametrize(
    "formula, family, err, words",
    [
        ("api00 ~ ell + nosuch", "gaussian", ColumnError, "nosuch"),
        ("api00 ~ ell", "binomial", EstimationError, "0/1"),
        ("hi700 ~ ell", "poisson", None, None),
        ("I(api00 - 900) ~ ell", "poisson", EstimationError, ">= 0"),
        ("ell ~ meals", "Gamma", EstimationError, "> 0"),
        ("api00 ~ ell", "negbin", EstimationError, "family must be one of"),
        ("api00", "gaussian", EstimationError, "~"),
    ],
)
def test_bad_models(strat, formula, family, err, words):
    if err is None:
        qp.glm(strat, formula, family=family)
        return
    with pytest.raises(err, match=words):
        qp.glm(strat, formula, family=family)


def test_empty_subset_and_no_rows(strat):
    with pytest.raises(EstimationError, match="subset has no rows"):
        qp.glm(strat, "api00 ~ ell", subset="stype == 'X'")
    with pytest.raises(EstimationError, match="no rows"):
        qp.glm(strat, "api00 ~ acs.k3", subset="stype == 'H'")  # acs.k3 is missing for every H school


def test_separation_warns_not_fails(strat):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = qp.glm(strat, "hi700 ~ api00", family="binomial")
    assert any("numerically 0 or 1" in str(w.message) for w in rec)
    assert res.coef[1] > 0


@pytest.mark.parametrize(
    "formula, words",
    [
        ('api00 ~ I(__import__("os").getpid())', "calls '__import__'"),
        ("api00 ~ I(ell.__class__)", "'__'"),
        ("api00 ~ I((1).__class__)", "'__'"),
        ('api00 ~ {getattr(ell, "real")}', "calls 'getattr'"),
        ('api00 ~ I("a".join("b"))', "calls '.join'"),
        ('api00 ~ I([open][0]("/etc/passwd"))', "open"),
        ("api00 ~ I(x=open)", "open"),
    ],
)
def test_formula_runs_no_arbitrary_python(strat, formula, words):
    """formulaic evaluates a formula's terms as Python: only listed functions and data columns may
    appear, so a formula from a study file or a script cannot run code."""
    with pytest.raises(qp.QuietpollError, match=words.replace("(", r"\(").replace(".", r"\.")):
        qp.glm(strat, formula)


def test_allowed_functions(strat):
    res = qp.glm(strat, "api00 ~ log(enroll) + sqrt(meals) + np.log1p(ell)")
    assert res.names == ("(Intercept)", "log(enroll)", "sqrt(meals)", "np.log1p(ell)")


def test_a_column_named_like_a_constant_is_a_column(strat):
    d = strat.data.with_columns(pl.col("ell").alias("T"))
    des = qp.svydesign(d, strata="stype", weights="pw", fpc="fpc")
    res = qp.glm(des, "api00 ~ T")
    np.testing.assert_allclose(res.coef, qp.glm(strat, "api00 ~ ell").coef, rtol=1e-12)


def test_integer_factor_levels_by_counting_equal_sorting():
    """factor() of integers spanning a short range (counted) gives np.unique's levels and codes; a
    wide range falls back to sorting."""
    from quietpoll.estimators.formula import _factor
    from quietpoll.estimators.levels import _small_int_levels

    rng = np.random.default_rng(2)
    for v in (rng.integers(-7, 9, 500), np.array([40, 3, 3, 40, 12], dtype=np.uint16), np.array([5])):
        lv, codes = _small_int_levels(v)
        want_lv, want_codes = np.unique(v, return_inverse=True)
        assert lv.dtype == want_lv.dtype
        np.testing.assert_array_equal(lv, want_lv)
        np.testing.assert_array_equal(codes, want_codes.reshape(-1))
    assert _small_int_levels(np.array([0, 10**9, 5])) is None
    f = _factor(np.array([10, -2, 10, 3]))
    assert list(f.cat.categories) == ["-2", "3", "10"] and f.cat.codes.tolist() == [2, 0, 2, 1]
