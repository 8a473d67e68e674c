"""Interval methods outside R's 4.1 reach (Wilson) and edge cases of the others."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quietpoll.estimators import ci


@pytest.mark.parametrize(
    "p,n,level,df", [(0.3, 50, 0.95, math.inf), (0.98, 150, 0.95, 40), (0.05, 36, 0.9, 12), (0.5, 10, 0.99, math.inf)]
)
def test_wilson_is_the_score_interval_with_effective_n(p, n, level, df):
    """Wilson (1927): the p0 solving (p - p0)^2 = z^2 p0 (1 - p0) / n, with n the effective sample
    size p(1-p)/var (Kish) and z the t quantile on the design df. Solved here as a quadratic."""
    var = p * (1 - p) / n
    z = ci.critical(level, df)
    roots = np.sort(np.roots([1 + z * z / n, -(2 * p + z * z / n), p * p]).real)
    lo, hi = ci.proportion_ci("wilson", p, var, level, df, n)
    assert (lo, hi) == pytest.approx(tuple(roots), rel=1e-12)
    # with a design effect of 2 the interval is that of n/2 observations
    lo2, hi2 = ci.proportion_ci("wilson", p, 2 * var, level, df, n)
    roots2 = np.sort(np.roots([1 + 2 * z * z / n, -(2 * p + 2 * z * z / n), p * p]).real)
    assert (lo2, hi2) == pytest.approx(tuple(roots2), rel=1e-12)


def test_wilson_stays_inside_0_1_where_wald_does_not():
    lo, hi = ci.proportion_ci("wilson", 0.98, 0.98 * 0.02 / 50, 0.95, math.inf, 50)
    assert 0 < lo < 0.98 < hi < 1
    assert ci.wald(0.98, math.sqrt(0.98 * 0.02 / 50), 0.95, math.inf)[1] > 1


def test_edges():
    assert all(math.isnan(x) for x in ci.proportion_ci("logit", 0.0, 0.0, 0.95, 10, 20))
    assert all(math.isnan(x) for x in ci.proportion_ci("beta", 0.0, 0.0, 0.95, 10, 20))  # as R: 0/0
    assert math.isnan(ci.critical(0.95, 0))
    with pytest.raises(Exception):
        ci.check_method("bogus")
