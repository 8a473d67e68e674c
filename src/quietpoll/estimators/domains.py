"""Domains (subpopulations) from one or more `by` columns, and the rows of each analysis domain.

A domain never drops rows from the design: it is a set of row indices, and the design keeps every
PSU of the whole sample for the variance. Rows whose `by` value is missing belong to no domain
(as R's svyby). Domains come in sorted order of their values, first `by` column slowest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..design.base import require_column
from ..errors import EstimationError
from ..codes import column_array, factorize


@dataclass(frozen=True)
class Domains:
    by: tuple[str, ...]
    codes: np.ndarray | None  # (n,) code per row, -1 for no domain; None = whole sample
    labels: tuple[dict[str, str], ...]
    order: np.ndarray | None = None  # rows sorted by code
    bounds: np.ndarray | None = None  # start of each code's block in `order`

    @property
    def count(self) -> int:
        return len(self.labels)

    def rows(self, g: int, keep: np.ndarray | None):
        """Row indices of domain g restricted to rows where keep is True (None = all rows)."""
        if self.codes is None:
            return slice(None) if keep is None else np.flatnonzero(keep)
        if self.order is None or self.bounds is None:  # make_domains sets them with the codes
            raise EstimationError("domains with codes need their row order and bounds (use make_domains)")
        r = self.order[self.bounds[g] : self.bounds[g + 1]]
        return r if keep is None else r[keep[r]]


def make_domains(frame: pl.DataFrame, by) -> Domains:
    by = (by,) if isinstance(by, str) else tuple(by or ())
    if not by:
        return Domains((), None, ({},))
    for b in by:
        require_column(frame, b, "by", param="by")
    nulls = np.zeros(frame.height, bool)
    arrays = []
    for b in by:
        s = frame.get_column(b)
        nulls |= s.is_null().to_numpy()
        if s.null_count():
            s = s.fill_null(s.drop_nulls()[0] if s.drop_nulls().len() else 0)
        arrays.append(column_array(pl.DataFrame({b: s}), b))
    codes, k, labels = factorize(*arrays)
    if nulls.any():
        # recode over non-missing rows only, so a level seen only with missing values disappears
        keep = ~nulls
        sub_codes, k, labels = factorize(
            *[a.filter(pl.Series(keep)) if isinstance(a, pl.Series) else a[keep] for a in arrays]
        )
        codes = np.full(frame.height, -1, np.int64)
        codes[keep] = sub_codes
    small = codes.astype(np.int32 if k > 32000 else np.int16)
    order = np.argsort(small, kind="stable")
    counts = np.bincount(codes[codes >= 0], minlength=k)
    start = int((codes < 0).sum())
    bounds = np.concatenate([[start], start + np.cumsum(counts)])
    domain_labels = tuple({b: _text(v) for b, v in zip(by, lab)} for lab in labels)
    return Domains(by, codes, domain_labels, order, bounds)


def _text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
