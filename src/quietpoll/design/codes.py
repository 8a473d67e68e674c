"""Integer codes for grouping columns (strata, clusters, domains), computed without Python loops.

Codes follow the sorted order of the labels (numbers numerically, text lexically), as R's factor()
does, so replicate weights and domain rows come out in R's order.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_RANGE_LIMIT = 50_000_000


def factorize(*arrays) -> tuple[np.ndarray, int, list[tuple]]:
    """Joint codes 0..K-1 of one or more equally long arrays, in lexicographic order of the tuples.

    Returns (codes, K, labels) where labels[k] is the tuple of values of group k.
    """
    if len(arrays) == 1:
        codes, uniq = _factorize_one(arrays[0])
        return codes, len(uniq), [(u,) for u in uniq.tolist()]
    codes = np.zeros(len(arrays[0]), dtype=np.int64)   # numpy arrays or polars Series (text)
    uniques = []
    for a in arrays:
        c, u = _factorize_one(a)
        uniques.append(u)
        codes = codes * len(u) + c
    combined, inverse = _compress(codes)
    labels = []
    # decode each combined code back into its tuple of labels
    rest = combined.copy()
    parts = []
    for u in reversed(uniques):
        parts.append(u[rest % len(u)])
        rest //= len(u)
    parts.reverse()
    labels = list(zip(*[p.tolist() for p in parts]))
    return inverse, len(combined), labels


def _factorize_one(a) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(a, pl.Series):
        if not a.dtype.is_numeric():
            # text: polars ranks without turning a million strings into Python objects
            s = a.cast(pl.String)
            uniq = s.unique().drop_nulls().sort()
            codes = s.cast(pl.Enum(uniq.to_list())).to_physical().cast(pl.Int64).to_numpy()
            return codes, uniq.to_numpy()
        a = a.to_numpy()
    a = np.asarray(a)
    if a.dtype.kind in "iub" and len(a):
        lo, hi = int(a.min()), int(a.max())
        if hi - lo < _RANGE_LIMIT:
            shifted = (a.astype(np.int64) - lo)
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            lookup = np.cumsum(present) - 1
            return lookup[shifted], (np.flatnonzero(present) + lo).astype(a.dtype)
    if a.dtype.kind == "f":
        uniq, inv = np.unique(a, return_inverse=True)
        return inv.astype(np.int64), uniq
    s = pl.Series(a, dtype=pl.String) if a.dtype.kind in "OUS" else pl.Series(a)
    uniq = s.unique().sort()
    codes = s.replace_strict(uniq, pl.int_range(len(uniq), eager=True), return_dtype=pl.Int64)
    return codes.to_numpy(), uniq.to_numpy()


def _compress(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(codes) and int(codes.max()) < _RANGE_LIMIT:
        present = np.bincount(codes) > 0
        lookup = np.cumsum(present) - 1
        return np.flatnonzero(present), lookup[codes]
    uniq, inv = np.unique(codes, return_inverse=True)
    return uniq, inv.astype(np.int64)


def column_array(frame: pl.DataFrame, name: str) -> np.ndarray:
    """A grouping column as numpy: integers stay integers, categoricals become their text."""
    s = frame.get_column(name)
    if s.dtype in (pl.Categorical, pl.Enum) or s.dtype == pl.Boolean:
        s = s.cast(pl.String)
    if s.dtype == pl.String:
        return s          # factorize() ranks text in polars
    return s.to_numpy()
