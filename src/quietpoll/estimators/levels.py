"""R's factor() levels of a numpy array: level codes and labels (numbers sorted numerically and
printed as R prints them, text sorted), shared by formula.py's `factor()` and the fast model matrix
(formula_fast.py) so that both give the same levels."""

from __future__ import annotations

import numpy as np


def factor_codes(vals: np.ndarray, miss: np.ndarray, kind: str) -> tuple[np.ndarray, list[str]]:
    """R's factor() of `vals` (numpy dtype kind `kind`): each value's level code (-1 where `miss`)
    and the level labels, numbers sorted numerically and printed as R prints them, text sorted."""
    small = _small_int_levels(vals) if kind in "iu" and not miss.any() else None
    if small is not None:
        lv, codes = small
        cats = [_num_label(v) for v in lv.tolist()]
    elif kind in "fiub":
        lv, codes = np.unique(np.where(miss, 0, vals).astype(float) if miss.any() else vals, return_inverse=True)
        if miss.any():
            lv = np.unique(vals[~miss].astype(float))
            codes = np.searchsorted(lv, np.where(miss, lv[0] if len(lv) else 0, vals).astype(float))
        cats = [_num_label(v) for v in lv.tolist()]
    else:
        text = np.where(miss, "", vals.astype(str))
        lv, codes = np.unique(text, return_inverse=True)
        cats = lv.tolist()
        if miss.any() and "" in cats and not (text[~miss] == "").any():
            keep = np.arange(len(cats)) != cats.index("")
            remap = np.cumsum(keep) - 1
            codes = remap[codes]
            cats = [c for c, k in zip(cats, keep) if k]
    codes = codes.reshape(-1)
    return (np.where(miss, -1, codes) if miss.any() else codes).astype(np.int64, copy=False), cats


def _small_int_levels(vals: np.ndarray):
    """np.unique(vals, return_inverse=True) of integers spanning a short range, by counting (no sort)."""
    if len(vals) == 0:
        return None
    lo, hi = int(vals.min()), int(vals.max())
    if hi - lo > max(1024, len(vals) // 4):
        return None
    off = (vals if lo == 0 else vals - lo).astype(np.intp, copy=False)
    present = np.bincount(off, minlength=hi - lo + 1) > 0
    lv = (np.flatnonzero(present) + lo).astype(vals.dtype)
    # every value between the smallest and the largest present: the offsets are the codes
    codes = off if present.all() else (np.cumsum(present) - 1)[off]
    return lv, codes


def _num_label(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, float):
        return repr(v)
    return str(v)
