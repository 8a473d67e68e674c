"""Replicate weight storage: the compressed form must give the same answers as the dense one."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.design.repweights import RepWeights


def _data(seed=0, n=3000, R=30):
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 60, n)
    w = rng.uniform(1, 9, n)
    m = rng.poisson(1.0, (60, R)).astype(float)
    d = {"w": w, "y": rng.normal(size=n), "g": rng.integers(0, 4, n)}
    for r in range(R):
        d[f"rw{r:02d}"] = w * m[psu, r]
    return pl.DataFrame(d)


def test_compressed_equals_dense():
    f = _data()
    cols = [f[c].to_numpy() for c in f.columns if c.startswith("rw")]
    w = f["w"].to_numpy()
    comp, dense = RepWeights.from_columns(cols, w), RepWeights.from_columns(cols, w, compress=False)
    assert comp.compressed and not dense.compressed and comp.factors.shape[0] <= 60 * 2
    rows = np.flatnonzero(f["g"].to_numpy() == 2)
    Y = np.column_stack([f["y"].to_numpy()[rows], np.ones(len(rows))])
    np.testing.assert_allclose(comp.totals(rows, Y), dense.totals(rows, Y), rtol=1e-12)
    np.testing.assert_allclose(comp.rows(rows), dense.rows(rows), rtol=1e-14)
    np.testing.assert_allclose(comp.gram(rows), dense.gram(rows), rtol=1e-12)


def test_estimates_do_not_depend_on_storage(monkeypatch):
    f = _data(1)
    a = qp.svrepdesign(f, repweights="rw*", weights="w", type="bootstrap")
    assert a.repweights.compressed
    monkeypatch.setattr("quietpoll.design.repweights._MAX_PATTERN_SHARE", -1.0)
    b = qp.svrepdesign(f, repweights="rw*", weights="w", type="bootstrap")
    assert not b.repweights.compressed
    for fn in (lambda d: qp.mean(d, "y", by="g"), lambda d: qp.quantile(d, "y", [0.5], ci_method="quantile")):
        for x, y in zip(fn(a).rows, fn(b).rows):
            assert x.estimate == pytest.approx(y.estimate, rel=1e-12)
            assert x.se == pytest.approx(y.se, rel=1e-9) and x.df == y.df


def test_rowwise_weights_stay_dense():
    rng = np.random.default_rng(2)
    n = 500
    cols = [rng.uniform(1, 2, n) for _ in range(10)]
    assert not RepWeights.from_columns(cols, np.ones(n)).compressed


def test_cross_totals_compressed_equals_dense():
    """X' diag(w_r) X and X' diag(w_r) y per replicate: the per-pattern path equals the dense one."""
    from quietpoll.design.repweights import RepWeights

    rng = np.random.default_rng(5)
    n, R, P = 600, 12, 30
    psu = rng.integers(0, P, n)
    w = rng.uniform(1, 4, n)
    W = w[:, None] * rng.poisson(1.0, (P, R)).astype(float)[psu]
    X = np.asfortranarray(np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)]))
    y = rng.normal(size=n)
    comp = RepWeights.from_dense(W, w)
    dense = RepWeights.from_dense(W, w, compress=False)
    assert comp.compressed and not dense.compressed
    want_G = np.einsum("ir,ij,ik->rjk", W, X, X)
    want_h = W.T @ (X * y[:, None])
    for rw in (comp, dense):
        G, h = rw.cross_totals(slice(None), X, y)
        np.testing.assert_allclose(G, want_G, rtol=1e-12)
        np.testing.assert_allclose(h, want_h, rtol=1e-12)
    rows = np.flatnonzero(rng.random(n) < 0.6)
    G, h = comp.cross_totals(rows, X[rows], y[rows])
    np.testing.assert_allclose(G, np.einsum("ir,ij,ik->rjk", W[rows], X[rows], X[rows]), rtol=1e-12)
    np.testing.assert_allclose(h, W[rows].T @ (X[rows] * y[rows, None]), rtol=1e-12)


@pytest.mark.parametrize("n", [6, 3000, 40000])  # no compression, one row block, several blocks
@pytest.mark.parametrize("col", ["rw00", "rw13", "rw29"])  # first, second and last group of columns
@pytest.mark.parametrize("bad, words", [(-0.5, "negative values"), (float("nan"), "missing values"), (None, "missing")])
def test_bad_replicate_weights_are_named(n, col, bad, words):
    """Columns are read a group at a time: a bad value anywhere is still refused, naming its column."""
    f = _data(3, n=n)
    row = n // 2
    vals = f[col].to_list()
    vals[row] = bad
    f = f.with_columns(pl.Series(col, vals, dtype=pl.Float64))
    with pytest.raises(qp.errors.DesignError, match=f"'{col}' has {words}"):
        qp.svrepdesign(f, repweights="rw*", weights="w", type="bootstrap")


def test_separate_replicate_factors_compress_like_combined_weights():
    """combined_weights=False: the columns are factors, multiplied by the weights as they are read."""
    f = _data(4, n=20000)
    w = f["w"].to_numpy()
    factors = f.with_columns([(pl.col(c) / pl.col("w")).alias(c) for c in f.columns if c.startswith("rw")])
    a = qp.svrepdesign(f, repweights="rw*", weights="w", type="bootstrap")
    b = qp.svrepdesign(factors, repweights="rw*", weights="w", type="bootstrap", combined_weights=False)
    assert a.repweights.compressed and b.repweights.compressed
    rows = np.arange(0, 20000, 7)
    np.testing.assert_allclose(b.repweights.rows(rows), a.repweights.rows(rows), rtol=1e-13)
    np.testing.assert_allclose(b.weights, w)


def test_stream_read_once_per_column_and_dense_fallback():
    """from_source reads each column once when the weights compress, and again only to store them
    dense when they do not."""
    f = _data(5, n=5000)
    cols = [f[c].to_numpy() for c in f.columns if c.startswith("rw")]
    w = f["w"].to_numpy()
    reads: list[int] = []

    def read(j):
        reads.append(j)
        return cols[j]

    comp = RepWeights.from_source(len(cols), read, w, read_rows=lambda rows: np.column_stack(cols)[rows])
    assert comp.compressed and sorted(reads) == list(range(len(cols)))
    np.testing.assert_allclose(comp.rows(slice(None)), np.column_stack(cols), rtol=1e-14)
    rng = np.random.default_rng(6)
    noisy = [c * rng.uniform(0.9, 1.1, len(c)) for c in cols]
    dense = RepWeights.from_source(len(noisy), noisy.__getitem__, w)
    assert not dense.compressed
    np.testing.assert_array_equal(dense.rows(slice(None)), np.column_stack(noisy))


def _cores(monkeypatch, k: int) -> None:
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(k)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: k)


@pytest.mark.parametrize("R", [9, 30, 81])  # a last group of one column, of six, of one
def test_overlapped_pass_gives_the_same_bits(monkeypatch, R):
    """Reading a group of columns while a worker thread projects the one before (large matrices,
    two or more cores) projects the groups in the same order: the same sums to the bit, so the same
    patterns on every machine."""
    from quietpoll.design import repweights as rw

    rng = np.random.default_rng(R)
    n = 20000
    cols = [rng.uniform(0, 3, n) for _ in range(R)]
    cols[R // 2][7] = -1.5  # a minimum that must reach its own column
    cols[-1][n - 1] = np.nan
    rr = rng.standard_normal((2, R))
    _cores(monkeypatch, 1)
    H1, low1 = rw._project(R, cols.__getitem__, n, rr)
    _cores(monkeypatch, 2)
    monkeypatch.setattr(rw, "_OVERLAP_VALUES", 0)
    reads: list[int] = []

    def read(j):
        reads.append(j)
        return cols[j]

    H2, low2 = rw._project(R, read, n, rr)
    assert reads == list(range(R))
    np.testing.assert_array_equal(H2, H1)
    np.testing.assert_array_equal(low2, low1)
    want = np.array([c.min() for c in cols])
    np.testing.assert_array_equal(low1, want)  # NaN in the last column: min is NaN, as numpy's


def test_overlapped_build_equals_the_plain_one_and_names_bad_columns(monkeypatch):
    """The whole build with the overlap on: the same factors and patterns, and a bad value in the
    last group of columns still refused by name."""
    from quietpoll.design import repweights as rw

    f = _data(7, n=20000, R=30)
    _cores(monkeypatch, 1)
    a = qp.svrepdesign(f, repweights="rw*", weights="w", type="bootstrap")
    _cores(monkeypatch, 2)
    monkeypatch.setattr(rw, "_OVERLAP_VALUES", 0)
    b = qp.svrepdesign(f, repweights="rw*", weights="w", type="bootstrap")
    for x, y in zip(a.repweights.compressed_parts(), b.repweights.compressed_parts()):
        np.testing.assert_array_equal(x, y)
    vals = f["rw29"].to_list()
    vals[123] = -0.5
    bad = f.with_columns(pl.Series("rw29", vals, dtype=pl.Float64))
    with pytest.raises(qp.errors.DesignError, match="'rw29' has negative values"):
        qp.svrepdesign(bad, repweights="rw*", weights="w", type="bootstrap")


def _first_appearance(key):
    """Patterns numbered in order of first appearance, by sorting: the reference for _patterns."""
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty(len(uniq), np.int64)
    rank[order] = np.arange(len(uniq))
    return first[order], rank[inverse.reshape(-1)]


@pytest.mark.parametrize("layout", ["runs", "shuffled", "runs then repeats"])
def test_patterns_by_runs_equal_patterns_by_rows(layout):
    """Keys in runs (rows of a PSU together) are hashed a run at a time: the same first rows and the
    same numbering as hashing every row, and as a sort."""
    from quietpoll.design.repweights import _patterns

    rng = np.random.default_rng(11)
    keys = rng.integers(-(10**15), 10**15, 300)
    if layout == "runs":
        key = np.repeat(keys, rng.integers(1, 40, 300))
    elif layout == "shuffled":
        key = rng.permutation(np.repeat(keys, 20))
    else:  # every pattern comes back in a later run
        key = np.repeat(np.concatenate([keys, keys[::-1], keys[:50]]), 15)
    first, unit = _patterns(key)
    want_first, want_unit = _first_appearance(key)
    np.testing.assert_array_equal(first, want_first)
    np.testing.assert_array_equal(unit, want_unit)
    assert _patterns(np.arange(1000)) is None  # every row its own pattern: not compressed


def test_a_forked_child_starts_its_own_worker(monkeypatch):
    """The worker thread does not survive a fork: in a child (another process id) the pass must start
    its own worker, not submit to the parent's executor, whose thread the child does not have. (A
    real fork is not run here: polars itself is not fork-safe once used, and its docs ask for spawn.)"""
    import os

    from quietpoll.design import repweights as rw

    parent = rw._worker()
    assert rw._worker() is parent
    pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: pid + 1)
    child = rw._worker()
    assert child is not parent and child.submit(lambda: 7).result(timeout=10) == 7
    assert list(rw._WORKER) == [pid + 1]  # the parent's executor is not kept in the child
