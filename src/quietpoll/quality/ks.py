"""The two-sample Kolmogorov-Smirnov test (two-sided) of the interviewer checks, with the numbers of
``scipy.stats.ks_2samp(x, y)`` (its default ``method="auto"``) but without importing ``scipy.stats``,
whose import takes about 0.5 s, as long as the rest of a small study's quality step.

Same numbers by the same computation: the statistic from the two empirical distribution functions at
every observation (``searchsorted``), then, when both samples have at most 10,000 values, scipy's exact
p-value: ``d`` rounded to a multiple of ``1 / lcm(n1, n2)`` and the proportion of lattice paths outside
the band (Hodges 1958; Viehmann 2021's recursion for 1 - p). For unequal sizes that proportion is
scipy's own compiled function (``_compute_outer_prob_inside_method`` of ``scipy/stats/_stats_pythran``,
loaded from its file without running ``scipy/stats/__init__.py``; Python registers it under its own
name, so a later ``import scipy.stats`` uses the same module); for equal sizes it is scipy's short
closed form (``_compute_prob_outside_square``), written out here with its operations in the same order.
Anything else (larger samples, an exact computation that overflows, a NaN, or a scipy whose compiled
module is not where this one keeps it) is handed to ``scipy.stats.ks_2samp`` itself, so the result is
always scipy's. ``tests/quality/test_ks.py`` compares both on many samples (hypothesis).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

#: scipy's ``MAX_AUTO_N``: ``method="auto"`` is exact while both samples are at most this large
MAX_EXACT_N = 10000


@functools.cache
def _inside_method() -> Callable[[int, int, int, int], float] | None:
    import importlib.machinery
    import importlib.util
    import sys
    from pathlib import Path

    name = "scipy.stats._stats_pythran"
    module = sys.modules.get(name)  # scipy.stats already imported by something else: its own copy
    if module is None:
        import scipy

        folder = Path(scipy.__file__).parent / "stats"
        found = [folder / f"_stats_pythran{s}" for s in importlib.machinery.EXTENSION_SUFFIXES]
        path = next((p for p in found if p.is_file()), None)
        if path is None:
            return None
        try:
            loader = importlib.machinery.ExtensionFileLoader(name, str(path))
            spec = importlib.util.spec_from_file_location(name, str(path), loader=loader)
            if spec is None:
                return None
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
        except (ImportError, OSError):
            return None
    fn = getattr(module, "_compute_outer_prob_inside_method", None)
    return fn if callable(fn) else None


def _outside_square(n: int, h: int) -> float:
    """P(D >= h/n) for two samples of n values each: 2 * (A0 * (1 - A1 * (1 - A2 * ...))), each Ak a
    ratio of binomial coefficients built from h factors (scipy's ``_compute_prob_outside_square``)."""
    total = 0.0
    k = int(np.floor(n / h))
    while k >= 0:
        ratio = 1.0
        for j in range(h):
            ratio = (n - k * h - j) * ratio / (n + k * h + j + 1)
        total = ratio * (1.0 - total)
        k -= 1
    return 2 * total


def _exact(n1: int, n2: int, d: float) -> tuple[float, float] | None:
    """(statistic, p-value) of scipy's exact two-sided computation, or None where scipy would fall back
    to the asymptotic one."""
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    h = int(np.round(d * lcm))
    d = h * 1.0 / lcm
    if h == 0:
        return d, 1.0
    inside = _inside_method() if n1 != n2 else None
    if n1 != n2 and inside is None:
        return None
    try:
        with np.errstate(invalid="raise", over="raise"):
            prob = _outside_square(n1, h) if n1 == n2 else inside(n1, n2, g, h)  # type: ignore[misc]
    except (FloatingPointError, OverflowError):
        return None
    if not 0 <= prob <= 1:
        return None
    return d, float(prob)


def ks_2samp(data1: np.ndarray, data2: np.ndarray) -> tuple[float, float]:
    """Two-sided two-sample Kolmogorov-Smirnov test: (statistic, p-value), equal to
    ``scipy.stats.ks_2samp(data1, data2)``. Both samples must be non-empty 1-D arrays of numbers."""
    x = np.sort(np.asarray(data1, dtype=float))
    y = np.sort(np.asarray(data2, dtype=float))
    n1, n2 = x.shape[0], y.shape[0]
    if x.ndim == 1 and y.ndim == 1 and n1 and n2 and max(n1, n2) <= MAX_EXACT_N:
        if not (np.isnan(x[-1]) or np.isnan(y[-1])):  # sorted: a NaN would be last
            both = np.concatenate([x, y])
            diff = np.searchsorted(x, both, side="right") / n1 - np.searchsorted(y, both, side="right") / n2
            low = np.clip(-diff[np.argmin(diff)], 0, 1)
            high = diff[np.argmax(diff)]
            got = _exact(n1, n2, float(low if low > high else high))
            if got is not None:
                return got
    from scipy import stats  # the cases above do not cover: scipy's own answer

    res = stats.ks_2samp(data1, data2)
    return float(res.statistic), float(res.pvalue)


__all__ = ["ks_2samp", "MAX_EXACT_N"]
