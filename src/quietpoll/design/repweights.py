"""Replicate weight storage: dense, or compressed as rowscale[i] * factors[unit[i], :].

Replicate weights are nearly always a full-sample weight times a replicate factor that is the same
for every row of a PSU (jackknife, BRR, Fay, bootstrap). Stored that way — one row of factors per
distinct pattern, R's "compressed" replicate weights — a replicate total is a bincount over the
patterns and a small matrix product, instead of a pass over an n x R matrix, and the data are not
held twice in memory.

Compression is found, not assumed: rows are grouped by a random projection of their factors, the
grouping is checked with a second independent projection, and only when every row agrees (to 1e-12
relative) is the compressed form used; otherwise the weights stay dense. The compressed form
reproduces each weight to within a few units in the last place.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

_SEED = 20240531
_MAX_PATTERN_SHARE = 0.25  # compress only if there are at most n/4 distinct patterns


@dataclass(frozen=True, eq=False)
class RepWeights:
    """An (n, R) matrix of replicate weights, dense or compressed."""

    n: int
    R: int
    dense: np.ndarray | None = None  # (n, R) row-major
    factors: np.ndarray | None = None  # (U, R)
    unit: np.ndarray | None = None  # (n,) pattern of each row
    rowscale: np.ndarray | None = None  # (n,)

    @property
    def compressed(self) -> bool:
        return self.factors is not None

    @classmethod
    def from_columns(cls, columns: Sequence[np.ndarray], weights: np.ndarray, *, compress: bool = True) -> RepWeights:
        """From equally long float columns (one per replicate) and the full-sample weights."""
        return cls.from_source(len(columns), columns.__getitem__, weights, compress=compress)

    @classmethod
    def from_source(
        cls,
        R: int,
        read: Callable[[int], np.ndarray],
        weights: np.ndarray,
        *,
        read_rows: Callable[[np.ndarray], np.ndarray] | None = None,
        on_column: Callable[[int, float], None] | None = None,
        compress: bool = True,
    ) -> RepWeights:
        """From R replicate columns that `read(j)` gives as float arrays, read a few at a time and
        dropped after use (a data frame's columns: never all copied at once). `read_rows(rows)`
        gives the (len(rows), R) weights of a few rows (default: from `read`); `on_column(j, m)` sees
        each column's minimum (NaN if it has one) as soon as it is read, to refuse bad weights."""
        n = len(weights)
        if compress and n >= 8:
            found = _compress(R, read, weights, read_rows, on_column)
            if found is not None:
                factors, unit, scale = found
                return cls(n, R, factors=factors, unit=unit, rowscale=scale)
            checked = True  # _compress's pass saw every column's minimum
        else:
            checked = on_column is None
        dense = np.empty((n, R))
        for j in range(R):
            a = read(j)
            if not checked:
                on_column(j, float(a.min()))  # type: ignore[misc]
            dense[:, j] = a
        return cls(n, R, dense=dense)

    @classmethod
    def from_dense(cls, W: np.ndarray, weights: np.ndarray, *, compress: bool = True) -> RepWeights:
        W = np.asarray(W, float)
        return cls.from_columns([W[:, j] for j in range(W.shape[1])], weights, compress=compress)

    def compressed_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(factors, unit, rowscale) of a compressed matrix."""
        if self.factors is None or self.unit is None or self.rowscale is None:
            raise AssertionError("RepWeights holds neither a dense nor a compressed matrix")
        return self.factors, self.unit, self.rowscale

    def rows(self, rows) -> np.ndarray:
        """The dense (len(rows), R) block of the given rows (rows: index array or slice)."""
        if self.dense is not None:
            return self.dense if isinstance(rows, slice) else self.dense[rows]
        factors, unit, rowscale = self.compressed_parts()
        return rowscale[rows, None] * factors[unit[rows]]

    def totals(self, rows, Y: np.ndarray) -> np.ndarray:
        """(R, m) replicate totals of the columns of Y over `rows`."""
        if self.dense is not None:
            return self.rows(rows).T @ Y
        factors, unit_all, rowscale = self.compressed_parts()
        unit, scale = unit_all[rows], rowscale[rows]
        U = factors.shape[0]
        S = np.empty((U, Y.shape[1]))
        for j in range(Y.shape[1]):
            S[:, j] = np.bincount(unit, weights=scale * Y[:, j], minlength=U)
        return factors.T @ S

    def cross_totals(self, rows, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Replicate totals of x_i x_i' and x_i y_i over `rows` (X: len(rows) x k, y: len(rows)):
        X' diag(w_r) X (R, k, k) and X' diag(w_r) y (R, k) for every replicate r. Compressed weights:
        the cross-products are summed per pattern of factors (one bincount per pair of columns, no
        n x R matrix), then combined with the factors in one small product."""
        m, k = X.shape
        a, b = np.triu_indices(k)
        R = self.R
        if self.dense is not None:
            W = self.rows(rows)
            G = np.empty((R, len(a)))
            for j in range(len(a)):
                G[:, j] = W.T @ (X[:, a[j]] * X[:, b[j]])
            h = W.T @ (X * y[:, None])
        else:
            factors, unit_all, rowscale = self.compressed_parts()
            unit, scale = unit_all[rows], rowscale[rows]  # views for a slice
            U = factors.shape[0]
            Xs = np.empty((m, k), order="F")
            np.multiply(X, scale[:, None], out=Xs)
            S = np.empty((U, len(a) + k))
            tmp = np.empty(m)
            for j in range(len(a)):
                np.multiply(Xs[:, a[j]], X[:, b[j]], out=tmp)
                S[:, j] = np.bincount(unit, weights=tmp, minlength=U)
            for j in range(k):
                np.multiply(Xs[:, j], y, out=tmp)
                S[:, len(a) + j] = np.bincount(unit, weights=tmp, minlength=U)
            T = factors.T @ S
            G, h = T[:, : len(a)], T[:, len(a) :]
        out = np.empty((R, k, k))
        out[:, a, b] = G
        out[:, b, a] = G
        return out, np.ascontiguousarray(h)

    def gram(self, rows) -> np.ndarray:
        """W[rows].T @ W[rows] (R, R)."""
        if self.dense is not None:
            W = self.rows(rows)
            return W.T @ W
        factors, unit, rowscale = self.compressed_parts()
        U = factors.shape[0]
        c = np.bincount(unit[rows], weights=rowscale[rows] ** 2, minlength=U)
        return factors.T @ (c[:, None] * factors)

    def sample_rows(self, rows) -> np.ndarray:
        return self.rows(rows)


_GROUP = 8  # columns read (copied out of a data frame) at a time: the memory of one group is reused by the next
_BLOCK = 16384  # rows of a group projected at a time: a (group x block) matrix that stays in cache
_OVERLAP_VALUES = 4_000_000  # n x R from which reading a group overlaps projecting the one before


def _project(R: int, read, n: int, rr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rr @ W' (2, n) and the minimum of each of W's R columns (NaN if it has one), reading each
    column once: a group of columns copied out of the frame, then a block of rows of the group at a
    time copied into one small matrix that stays in cache and projected with one product.

    On a machine with two or more cores and a large matrix, one worker thread projects a group while
    this thread copies the next out of the frame (both are bound by memory bandwidth, which one core
    does not fill; polars and numpy release the GIL): on the 1M x 80 benchmark the pass takes about
    100 ms instead of 150. The groups are projected in the same order either way, so the sums, and
    the patterns found from them, are the same bits with or without the thread."""
    H = np.zeros((rr.shape[0], n))
    low = np.full(R, np.inf)
    M = np.empty((min(_GROUP, R), min(_BLOCK, n)))
    tmp = np.empty((rr.shape[0], min(_BLOCK, n)))

    def project(j0: int, cols: list[np.ndarray]) -> None:
        g = len(cols)
        lo = low[j0 : j0 + g]
        for s in range(0, n, _BLOCK):
            e = min(n, s + _BLOCK)
            m = M[:g, : e - s]
            for j, c in enumerate(cols):
                m[j] = c[s:e]
            t = tmp[:, : e - s]
            np.matmul(rr[:, j0 : j0 + g], m, out=t)
            H[:, s:e] += t
            np.minimum(lo, m.min(axis=1), out=lo)

    def group(j0: int) -> list[np.ndarray]:
        return [read(j) for j in range(j0, min(R, j0 + _GROUP))]

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if R > _GROUP and n * R >= _OVERLAP_VALUES and cores >= 2:
        from threadpoolctl import threadpool_limits

        # one BLAS thread: OpenBLAS's own threads for the small products would fight the copying
        # for the same two cores (measured: slower than no overlap at all)
        with threadpool_limits(limits=1, user_api="blas"):
            pending = None
            for j0 in range(0, R, _GROUP):
                cols = group(j0)  # while the worker projects the group before
                if pending is not None:
                    pending.result()
                pending = _worker().submit(project, j0, cols)
                del cols
            assert pending is not None
            pending.result()
    else:
        for j0 in range(0, R, _GROUP):
            project(j0, group(j0))
    return H, low


_WORKER: dict = {}  # process id -> its executor


def _worker():
    """One worker thread, kept for the life of the process (an idle thread costs nothing). Keyed by
    process id: a child forked after the thread was started does not have it (its executor would
    wait forever), so it starts its own."""
    pid = os.getpid()
    if pid not in _WORKER:
        from concurrent.futures import ThreadPoolExecutor

        _WORKER.clear()
        _WORKER[pid] = ThreadPoolExecutor(1, thread_name_prefix="quietpoll-repweights")
    return _WORKER[pid]


def _patterns(key: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(each pattern's first row, each row's pattern) for integer keys, patterns numbered in order of
    first appearance; None if there are more than _MAX_PATTERN_SHARE * n of them.

    Found by hashing, never by sorting the n keys. When the rows of a PSU sit together (data sorted
    by stratum and PSU, as most survey files are) the keys come in runs: then only the first key of
    each run is hashed and the runs are expanded (the same numbering, since a pattern first appears at
    the start of a run). Shuffled rows are hashed one by one."""
    n = len(key)
    change = key[1:] != key[:-1]
    in_runs = 1 + int(np.count_nonzero(change)) <= n // 4
    starts = np.concatenate([np.zeros(1, np.int64), np.flatnonzero(change) + 1]) if in_runs else None
    keys = pl.Series(key[starts] if starts is not None else key)
    first = np.flatnonzero(keys.is_first_distinct().to_numpy())
    U = len(first)
    if U > _MAX_PATTERN_SHARE * n:
        return None
    unit = keys.replace_strict(keys.gather(first), np.arange(U), return_dtype=pl.Int64).to_numpy()
    if starts is None:
        return first, unit
    return starts[first], np.repeat(unit, np.diff(starts, append=n))


def _compress(R, read, weights, read_rows, on_column):
    n = len(weights)
    scale = np.where(weights != 0, weights, 1.0)
    rng = np.random.default_rng(_SEED)
    r1, r2 = rng.standard_normal(R), rng.standard_normal(R)
    # both projections in one pass over the columns
    H, low = _project(R, read, n, np.stack([r1, r2]))
    if on_column is not None:
        for j in range(R):
            on_column(j, float(low[j]))
    H /= scale
    h1, h2 = H[0], H[1]
    # rows of one pattern differ only by rounding (w * f / w): group on the projection rounded to 1e-9
    # of its scale; a pattern split across a rounding boundary is merely stored twice
    step = 1e-9 * max(float(np.abs(h1).max()), 1e-300)
    np.divide(h1, step, out=h1)
    key = np.rint(h1, out=h1).astype(np.int64)
    found = _patterns(key)
    if found is None:
        return None
    first, unit = found
    if read_rows is not None:
        factors = np.asarray(read_rows(first), float) / scale[first, None]
    else:
        factors = np.column_stack([read(j)[first] for j in range(R)]) / scale[first, None]
    # check every row with the second projection: rows grouped together must have equal factors
    gap = (factors @ r2)[unit]
    gap -= h2
    np.abs(gap, out=gap)
    tol = (np.abs(factors) @ np.abs(r2))[unit]
    tol *= 1e-12
    tol += 1e-300
    if not np.all(gap <= tol):
        return None
    return factors, unit.astype(np.int64, copy=False), scale
