"""contrast / compare_domains on any result exposing names, coef() and vcov(): linear, several,
nonlinear (exact derivatives), callables (numeric gradient), safe expressions, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from quietpoll.errors import QuietpollError
from quietpoll.estimators.contrasts import compare_domains, contrast


class Fake:
    """A domain result as `estimate --by` will give it: names, coef(), vcov(), df."""

    def __init__(self, names, b, V, df=None):
        self.names, self._b, self._V = list(names), np.asarray(b, float), np.asarray(V, float)
        if df is not None:
            self.df = df

    def coef(self):
        return self._b

    def vcov(self):
        return self._V


V = np.array([[4.0, 1.0, 0.5], [1.0, 9.0, -1.0], [0.5, -1.0, 16.0]]) * 1e-4
B = np.array([0.30, 0.45, 0.20])
DOM = Fake(["north", "south", "border"], B, V, df=14)


def test_compare_domains_rows_by_hand():
    rows = compare_domains(DOM)
    assert [r["domain"] for r in rows] == ["south", "border"]
    assert all(r["statistic"] == "difference" and r["reference"] == "north" for r in rows)
    se = math.sqrt(V[1, 1] + V[0, 0] - 2 * V[0, 1])
    r = rows[0]
    assert r["estimate"] == pytest.approx(0.15, rel=1e-12) and r["se"] == pytest.approx(se, rel=1e-12)
    q = stats.t.ppf(0.975, 14)
    assert r["ci_low"] == pytest.approx(0.15 - q * se, rel=1e-12) and r["df"] == 14
    assert r["p"] == pytest.approx(2 * stats.t.sf(0.15 / se, 14), rel=1e-12)
    other = compare_domains(DOM, reference="border")
    assert [r["domain"] for r in other] == ["north", "south"]
    assert other[0]["estimate"] == pytest.approx(0.10, rel=1e-12)


def test_compare_domains_without_df_is_normal_and_errors():
    rows = compare_domains(Fake(["a", "b"], [1.0, 2.0], np.eye(2)))
    assert rows[0]["df"] is None
    assert rows[0]["ci_high"] == pytest.approx(1 + stats.norm.ppf(0.975) * math.sqrt(2), rel=1e-12)
    with pytest.raises(QuietpollError, match="reference 'west'"):
        compare_domains(DOM, reference="west")
    with pytest.raises(QuietpollError, match="at least two"):
        compare_domains(Fake(["a"], [1.0], [[1.0]]))


def test_linear_several_and_joint_covariance():
    res = contrast(DOM, {"s-n": {"south": 1, "north": -1}, "avg": [1 / 3, 1 / 3, 1 / 3]})
    C = np.array([[-1, 1, 0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(res.coef(), C @ B, rtol=1e-14)
    np.testing.assert_allclose(res.vcov(), C @ V @ C.T, rtol=1e-14)
    assert res.names == ("s-n", "avg")
    one = contrast(DOM, {"south": 1, "north": -1})
    assert one.names == ("south - north",)


def test_nonlinear_exact_derivative_matches_callable_numeric_gradient():
    e = contrast(DOM, "exp(south - north) * sqrt(border) / log(1 + north)")
    f = contrast(DOM, lambda b: math.exp(b[1] - b[0]) * math.sqrt(b[2]) / math.log(1 + b[0]))
    assert e.coef()[0] == pytest.approx(f.coef()[0], rel=1e-14)
    assert e.vcov()[0, 0] == pytest.approx(f.vcov()[0, 0], rel=1e-7)
    g = math.exp(0.15) * np.array([-1.0, 1.0, 0.0])  # the gradient of exp(south - north)
    assert contrast(DOM, "exp(south - north)").vcov()[0, 0] == pytest.approx(g @ V @ g, rel=1e-12)
    assert contrast(DOM, "south^2").coef()[0] == pytest.approx(0.45**2, rel=1e-14)  # R's ^


def test_backticks_and_dotted_names():
    r = Fake(["(Intercept)", "factor(dom)2", "avg.ed"], [1.0, 2.0, 3.0], np.eye(3))
    assert contrast(r, "`factor(dom)2` / `(Intercept)` + avg.ed").coef()[0] == pytest.approx(5.0)


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('touch {m}')",
        "open('{m}', 'w')",
        "(lambda: open('{m}', 'w'))()",
        "south.__class__",
        "[open('{m}', 'w')][0]",
        "exp(south, north)",
        "exp(x=south)",
    ],
)
def test_expressions_cannot_run_code(expr, tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(QuietpollError):
        contrast(DOM, expr.format(m=marker))
    assert not marker.exists()


@pytest.mark.parametrize(
    "spec, words",
    [
        ("south - west", "'west'"),
        ({"west": 1.0, "north": -1.0}, "'west'"),
        ([1.0, -1.0], "needs 3 values"),
        ("south -", "cannot read"),
        ("log(north - north)", "cannot be evaluated"),
        ({}, "empty"),
    ],
)
def test_contrast_errors(spec, words):
    with pytest.raises(QuietpollError, match=words):
        contrast(DOM, spec)


def test_results_that_do_not_fit():
    with pytest.raises(QuietpollError, match="do not match"):
        contrast(Fake(["a", "b"], [1.0, 2.0], np.eye(3)), "a")
    with pytest.raises(QuietpollError, match="has no 'names'"):
        contrast(object(), "a")
    with pytest.raises(QuietpollError, match="df must be positive"):
        contrast(DOM, "south", df=0)


def test_contrast_result_chains():
    first = contrast(DOM, {"d1": {"south": 1, "north": -1}, "d2": {"border": 1, "north": -1}})
    second = contrast(first, "d1 - d2")
    direct = contrast(DOM, {"south": 1, "border": -1})
    assert second.coef()[0] == pytest.approx(direct.coef()[0], rel=1e-12)
    assert second.vcov()[0, 0] == pytest.approx(direct.vcov()[0, 0], rel=1e-12)
    assert second.df == 14


def test_a_level_attribute_that_is_a_category_is_not_a_confidence_level():
    r = Fake(["a", "b"], [1.0, 2.0], np.eye(2), df=10)
    r.level = "Yes"
    assert contrast(r, "b - a").level == 0.95
    r.level_ci = 0.9
    assert contrast(r, "b - a").level == 0.9
