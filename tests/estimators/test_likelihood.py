"""likelihood_ci against R's svyciprop(method = "likelihood") (golden file from
tests/reference/make_golden_likelihood.R; no R needed at test time)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from quietpoll.estimators.likelihood import fmm_spline, likelihood_ci

GOLDEN = Path(__file__).resolve().parents[1] / "reference" / "golden" / "likelihood.json"
CASES = json.loads(GOLDEN.read_text())
RTOL = 1e-9


def _num(v):
    return math.inf if v == "Inf" else (math.nan if v is None else float(v))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_r(case):
    y, w = np.array(case["y"], float), np.array(case["w"], float)
    n_rows = case["n_rows"] if case["n_rows"] != len(y) else None
    lo, hi = likelihood_ci(y, w, case["p"], case["var"], case["level"], _num(case["df"]), n_rows=n_rows)
    want = [_num(v) for v in case["ci"]]
    np.testing.assert_allclose([lo, hi], want, rtol=RTOL, atol=0, equal_nan=True)


def test_edge_cases_give_nan():
    y = np.array([0.0, 0.0, 0.0])
    w = np.ones(3)
    assert all(math.isnan(v) for v in likelihood_ci(y, w, 0.0, 0.0, 0.95, 2))  # R errors at p = 0
    assert all(math.isnan(v) for v in likelihood_ci(1 - y, w, 1.0, 0.0, 0.95, 2))  # and p = 1
    y = np.array([0.0, 1.0, 1.0, 0.0])
    assert all(math.isnan(v) for v in likelihood_ci(y, np.ones(4), 0.5, 0.05, 0.95, 0))  # df <= 0
    assert all(math.isnan(v) for v in likelihood_ci(y, np.ones(4), 0.5, 0.0, 0.95, 3))  # var = 0


def test_fmm_spline_reproduces_cubics():
    # the FMM end conditions make the spline exact for any cubic
    x = np.array([0.0, 0.3, 1.1, 1.5, 2.6, 3.0])
    f = lambda t: 1.5 - 2 * t + 0.7 * t**2 - 0.4 * t**3  # noqa: E731
    xo = np.linspace(0, 3, 31)
    np.testing.assert_allclose(fmm_spline(x, f(x), xo), f(xo), rtol=1e-12, atol=1e-12)
    # three points: the parabola through them
    x3 = np.array([0.0, 1.0, 3.0])
    g = lambda t: 2 + t - 0.5 * t**2  # noqa: E731
    np.testing.assert_allclose(fmm_spline(x3, g(x3), xo), g(xo), rtol=1e-12, atol=1e-12)
