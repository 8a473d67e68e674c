"""Integer codes for grouping columns (strata, clusters, domains), computed without Python loops.

Codes follow the sorted order of the labels (numbers numerically, text lexically), as R's factor()
does, so replicate weights and domain rows come out in R's order.
"""

from __future__ import annotations

import math

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
    codes = np.zeros(len(arrays[0]), dtype=np.int64)  # numpy arrays or polars Series (text)
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


def _factorize_one(values) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, pl.Series):
        if not values.dtype.is_numeric():
            # text: polars ranks without turning a million strings into Python objects
            text = values.cast(pl.String)
            text_uniq = text.unique().drop_nulls().sort()
            text_codes = text.cast(pl.Enum(text_uniq.to_list())).to_physical().cast(pl.Int64).to_numpy()
            return text_codes, text_uniq.to_numpy()
        values = values.to_numpy()
    a = np.asarray(values)
    if a.dtype.kind in "iub" and len(a):
        lo, hi = int(a.min()), int(a.max())
        if hi - lo < _RANGE_LIMIT:
            shifted = a.astype(np.int64) - lo
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            lookup = np.cumsum(present) - 1
            return lookup[shifted], (np.flatnonzero(present) + lo).astype(a.dtype)
    if a.dtype.kind == "f":
        uniq, inv = np.unique(a, return_inverse=True)
        return inv.astype(np.int64), uniq
    s = pl.Series(a, dtype=pl.String) if a.dtype.kind in "OUS" else pl.Series(a)
    s_uniq = s.unique().sort()
    s_codes = s.replace_strict(s_uniq, pl.int_range(len(s_uniq), eager=True), return_dtype=pl.Int64)
    return s_codes.to_numpy(), s_uniq.to_numpy()


def _compress(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(codes) and int(codes.max()) < _RANGE_LIMIT:
        present = np.bincount(codes) > 0
        lookup = np.cumsum(present) - 1
        return np.flatnonzero(present), lookup[codes]
    uniq, inv = np.unique(codes, return_inverse=True)
    return uniq, inv.astype(np.int64)


def column_array(frame: pl.DataFrame, name: str) -> np.ndarray | pl.Series:
    """A grouping column for factorize(): numbers as numpy (integers stay integers); text, categoricals
    and booleans as a polars String Series, which factorize() ranks in polars."""
    s = frame.get_column(name)
    if s.dtype in (pl.Categorical, pl.Enum) or s.dtype == pl.Boolean:
        s = s.cast(pl.String)
    if s.dtype == pl.String:
        return s  # factorize() ranks text in polars
    return s.to_numpy()


def small_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Level codes (-1 for none, else 0..k-1) in the narrowest signed integer type that holds them:
    a million rows of a 10-level variable take 1 MB instead of 8."""
    dt = np.dtype(np.int8 if k < 127 else np.int16 if k < 32_767 else np.int32 if k < 2**31 - 1 else np.int64)
    codes = np.asarray(codes)
    if codes.dtype.kind == "u" and codes.dtype.itemsize == dt.itemsize:
        return codes.view(dt)  # codes < k fit the signed type of the same width: no copy
    return codes.astype(dt, copy=False)


_DENSE_CELLS = 4096  # a joint table this small, or up to n / 8 cells, is used as is (no compression)


def combine_codes(codes, sizes) -> tuple[np.ndarray, list[np.ndarray]]:
    """The cell of the cross-classification of several level codes (each -1 or 0..k-1), as one code.

    Returns (joint, digits): `joint` is each row's cell and `digits[i]` the code of variable i (-1
    included) of every cell, so that ``digits[i][joint] == codes[i]``. Cells are numbered by mixed
    radix over the variables (k places each, k + 1 for a variable with -1 codes), in the narrowest
    unsigned type that holds them (2 bytes a row for up to 65,536 cells: combining, counting and
    gathering then move a quarter of the memory of int64 codes). When that table would have more
    than 4,096 cells and more than n / 8, only the cells that occur are numbered (in the same order).
    """
    codes = [np.asarray(c) for c in codes]
    n = len(codes[0]) if codes else 0
    shift = [bool(c.dtype.kind == "i" and c.size and int(c.min()) < 0) for c in codes]
    radix = [int(k) + s for k, s in zip(sizes, shift)]
    full = math.prod(radix)
    if full >= 2**63:
        raise ValueError("too many cells in the cross-classification")
    dt = np.uint16 if full <= 1 << 16 else np.uint32 if full <= 1 << 32 else np.int64
    joint: np.ndarray = np.zeros(n, dtype=dt)
    for c, k, s in zip(codes, radix, shift):
        joint *= k
        if s:  # -1 (no level) takes place 0
            joint += (c + 1).astype(dt)
        elif c.dtype.kind == "i" and joint.dtype.kind == "u":  # codes >= 0: the same bits unsigned
            joint += c.view(c.dtype.str.replace("i", "u"))  # (widened element by element, no copy)
        else:
            joint += c
    cells = np.arange(full, dtype=np.int64) if full <= max(n // 8, _DENSE_CELLS) else None
    if cells is None:
        cells, joint = _compress(joint.astype(np.int64))
    digits = []
    rest = cells.copy()
    for k, s in zip(reversed(radix), reversed(shift)):
        digits.append(rest % k - s)
        rest //= k
    digits.reverse()
    return joint, digits


_BLOCK = 1 << 16


def joint_sums(joint: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    """np.bincount(joint, weights, minlength=k): per-cell counts or sums. Narrow codes (2 bytes a row)
    are counted in blocks of 65,536 rows (a loop over blocks, not rows), so that bincount's widening
    of them to intp stays in cache instead of costing 8 bytes a row of fresh memory."""
    if joint.dtype == np.intp or len(joint) <= _BLOCK:
        return np.bincount(joint, weights=weights, minlength=k)
    out = np.zeros(k, dtype=np.int64 if weights is None else np.float64)
    for s in range(0, len(joint), _BLOCK):
        out += np.bincount(
            joint[s : s + _BLOCK], weights=None if weights is None else weights[s : s + _BLOCK], minlength=k
        )
    return out


def gather(table: np.ndarray, joint: np.ndarray) -> np.ndarray:
    """table[joint] (rows of table), with narrow codes widened block by block rather than all at once."""
    if joint.dtype == np.intp or len(joint) <= _BLOCK:
        return np.take(table, joint, axis=0)
    out = np.empty((len(joint),) + table.shape[1:], dtype=table.dtype)
    for s in range(0, len(joint), _BLOCK):
        np.take(table, joint[s : s + _BLOCK], axis=0, out=out[s : s + _BLOCK])
    return out
