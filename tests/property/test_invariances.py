"""Properties every design-based estimator must have, checked on random designs (hypothesis)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quietpoll as qp

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def samples(draw):
    """A random stratified cluster sample: 2-5 strata, 2-5 PSUs each, 1-6 rows per PSU."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    H = draw(st.integers(2, 5))
    rows = []
    for h in range(H):
        for j in range(int(rng.integers(2, 6))):
            for _ in range(int(rng.integers(1, 7))):
                rows.append((h, h * 10 + j))
    n = len(rows)
    return pl.DataFrame(
        {
            "s": [r[0] for r in rows],
            "psu": [r[1] for r in rows],
            "w": rng.uniform(0.5, 20, n),
            "y": rng.normal(10, 4, n).round(3),
            "x": rng.uniform(1, 5, n).round(3),
            "g": rng.choice(["a", "b", "c"], n),
            "b": rng.integers(0, 2, n),
        }
    )


def design(frame, **kw):
    return qp.svydesign(frame, strata="s", ids="psu", weights="w", **kw)


def values(table):
    return np.array([[r.estimate, r.se] for r in table.rows])


@SETTINGS
@given(samples(), st.integers(0, 10_000))
def test_row_order_does_not_matter(frame, seed):
    perm = np.random.default_rng(seed).permutation(frame.height)
    shuffled = frame[perm]
    for fn in (qp.mean, qp.total):
        a, b = values(fn(design(frame), "y", by="g")), values(fn(design(shuffled), "y", by="g"))
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)  # an SE that is 0 in exact arithmetic
    a = values(qp.ratio(design(frame), "y", "x"))
    b = values(qp.ratio(design(shuffled), "y", "x"))
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(samples(), st.floats(0.01, 1000))
def test_weight_scaling(frame, c):
    scaled = frame.with_columns(pl.col("w") * c)
    np.testing.assert_allclose(
        values(qp.mean(design(frame), "y", by="g")), values(qp.mean(design(scaled), "y", by="g")), rtol=1e-9, atol=1e-10
    )
    np.testing.assert_allclose(
        values(qp.total(design(frame), "y")) * c, values(qp.total(design(scaled), "y")), rtol=1e-9
    )
    np.testing.assert_allclose(
        values(qp.proportion(design(frame), "g")), values(qp.proportion(design(scaled), "g")), rtol=1e-9, atol=1e-15
    )


@SETTINGS
@given(samples())
def test_constant_has_zero_se(frame):
    const = frame.with_columns(k=pl.lit(3.5))
    for t in (qp.mean(design(const), "k", by="g"), qp.ratio(design(const), "k", "k")):
        for r in t.rows:
            assert abs(r.se) < 1e-12 * max(1.0, abs(r.estimate))
    rep = qp.as_svrepdesign(design(const), "JKn")
    assert all(abs(r.se) < 1e-9 for r in qp.mean(rep, "k").rows)


@SETTINGS
@given(samples())
def test_domains_combine_to_the_whole(frame):
    des = design(frame)
    whole = qp.total(des, "y").rows[0]
    parts = qp.total(des, "y", by="g").rows
    assert sum(r.estimate for r in parts) == pytest.approx(whole.estimate, rel=1e-10)
    # the domain means weighted by the domain sizes give the overall mean
    sizes = {r.domain["g"]: r.estimate for r in qp.total(des.with_weights(des.weights), "b", by="g").rows}
    props = {r.level: r.estimate for r in qp.proportion(des, "g").rows}
    assert sum(props.values()) == pytest.approx(1.0, rel=1e-12)
    means = {r.domain["g"]: r.estimate for r in qp.mean(des, "y", by="g").rows}
    overall = qp.mean(des, "y").rows[0].estimate
    assert sum(props[k] * means[k] for k in means) == pytest.approx(overall, rel=1e-10)
    assert set(sizes) == set(means)


def test_replicate_and_taylor_agree_on_a_large_simple_sample():
    rng = np.random.default_rng(7)
    n, H, P = 6000, 30, 20
    s = rng.integers(0, H, n)
    frame = pl.DataFrame(
        {
            "s": s,
            "psu": s * P + rng.integers(0, P, n),
            "w": rng.uniform(1, 3, n),
            "y": rng.normal(0, 1, n),
            "g": rng.integers(0, 3, n),
        }
    )
    des = design(frame)
    taylor = qp.mean(des, "y", by="g")
    for kind in ("JKn", "bootstrap"):
        rep = qp.as_svrepdesign(des, kind, replicates=400, seed=3)
        for a, b in zip(taylor.rows, qp.mean(rep, "y", by="g").rows):
            tol = 0.01 if kind == "JKn" else 0.12  # jackknife ~ linearization; bootstrap within Monte Carlo error
            assert b.se == pytest.approx(a.se, rel=tol)
            assert b.estimate == pytest.approx(a.estimate, rel=1e-12)
