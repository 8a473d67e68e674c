"""quality/ks.py gives scipy.stats.ks_2samp's numbers (statistic and p-value, equal as floats) without
importing scipy.stats. All samples here are SYNTHETIC (hypothesis, numpy)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from quietpoll.quality import ks


def _scipy(x, y) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.ks_2samp(x, y)
    return float(res.statistic), float(res.pvalue)


def _same(got, want) -> bool:
    return all((np.isnan(a) and np.isnan(b)) or a == b for a, b in zip(got, want))


# answers as interviews give them: few distinct values (ties), counts, amounts, negative codes
_values = st.one_of(
    st.integers(-9, 12).map(float),
    st.integers(0, 500).map(float),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_values, min_size=1, max_size=80), st.lists(_values, min_size=1, max_size=80))
def test_equals_scipy_on_small_samples(x, y):
    x, y = np.array(x), np.array(y)
    assert _same(ks.ks_2samp(x, y), _scipy(x, y))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.integers(1, 400), st.integers(2, 60), st.integers(0, 2**32 - 1))
def test_equals_scipy_on_interviewer_sized_samples(n1, n2, levels, seed):
    """One interviewer's answers against the rest's (as interviewer_effects calls it): up to 400 values,
    from a handful of levels to continuous."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, n1).astype(float)
    y = rng.integers(0, levels, n2).astype(float) + (rng.random() < 0.5)
    assert _same(ks.ks_2samp(x, y), _scipy(x, y))
    u, v = rng.normal(size=n1), rng.normal(0.3, 1.2, size=n2)
    assert _same(ks.ks_2samp(u, v), _scipy(u, v))


@pytest.mark.parametrize("n", [1, 2, 5, 30, 241, 1000])
def test_equal_sizes_use_the_closed_form(n):
    rng = np.random.default_rng(n)
    for shift in (0.0, 0.2, 1.0, 5.0):
        x, y = rng.normal(size=n), rng.normal(shift, size=n)
        assert _same(ks.ks_2samp(x, y), _scipy(x, y))


def test_identical_samples_and_statistic_rounding():
    x = np.array([1.0, 2.0, 2.0, 3.0])
    assert ks.ks_2samp(x, x.copy()) == _scipy(x, x) == (0.0, 1.0)
    # d = 1/3 on lcm 3 * 7: the statistic is scipy's rounded h / lcm
    a, b = np.arange(3.0), np.arange(7.0) + 0.5
    assert ks.ks_2samp(a, b) == _scipy(a, b)


def test_outside_the_exact_range_is_scipys_own_answer():
    rng = np.random.default_rng(1)
    big, small = rng.normal(size=ks.MAX_EXACT_N + 1), rng.normal(size=50)
    assert _same(ks.ks_2samp(big, small), _scipy(big, small))  # asymptotic: scipy.stats computes it
    with_nan = np.array([1.0, np.nan, 3.0])
    assert _same(ks.ks_2samp(with_nan, small), _scipy(with_nan, small))  # NaN propagates, as in scipy
    assert all(np.isnan(v) for v in ks.ks_2samp(with_nan, small))


def test_without_the_compiled_function_scipy_answers(monkeypatch):
    monkeypatch.setattr(ks, "_inside_method", lambda: None)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=40), rng.normal(size=55)
    assert _same(ks.ks_2samp(x, y), _scipy(x, y))


def test_does_not_import_scipy_stats():
    """In a fresh interpreter: the exact path loads scipy's compiled module (registered under its own name,
    so a later ``import scipy.stats`` uses it), never the scipy.stats package."""
    code = (
        "import sys, numpy as np\n"
        "from quietpoll.quality.ks import ks_2samp\n"
        "from quietpoll.quality.interviewers import interviewer_effects\n"
        "r = np.random.default_rng(0)\n"
        "ks_2samp(r.normal(size=30), r.normal(size=41)); ks_2samp(r.normal(size=20), r.normal(size=20))\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))\n"
        "import scipy.stats\n"  # afterwards scipy.stats imports and agrees
        "a, b = r.normal(size=33), r.normal(size=50)\n"
        "res = scipy.stats.ks_2samp(a, b)\n"
        "assert ks_2samp(a, b) == (float(res.statistic), float(res.pvalue))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['scipy.stats._stats_pythran']"
