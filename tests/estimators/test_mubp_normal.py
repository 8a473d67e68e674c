"""mubp.norm_logpdf equals scipy.stats.norm.logpdf as floats (the probit's inverse Mills ratio no longer
imports scipy.stats). SYNTHETIC inputs (hypothesis, numpy)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from quietpoll.estimators.mubp import norm_logpdf


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(0, 40), elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_equals_scipy_norm_logpdf(x):
    assert _equal(norm_logpdf(x), stats.norm.logpdf(x))


def test_equals_scipy_on_probit_scale():
    eta = np.random.default_rng(0).normal(0, 3, 100_000)  # linear predictors as the probit fit gives them
    assert _equal(norm_logpdf(eta), stats.norm.logpdf(eta))
    edge = np.array([0.0, -0.0, 1e-300, 37.5, -38.5, 1e154, 1.4e154, np.inf, -np.inf, np.nan])
    assert _equal(norm_logpdf(edge), stats.norm.logpdf(edge))
