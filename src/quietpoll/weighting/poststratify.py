"""Post-stratification as R's survey::postStratify: w * N_cell / sum_cell(w).

``w`` may be one weight vector (n,) or a matrix (n, R) of replicate weights (combined weights, as
R's svrepdesign(combined.weights = TRUE)); every column is post-stratified on its own sums, which is
what R's postStratify does to a replicate design.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import WeightingError

__all__ = ["poststratify_weights", "cell_sums"]


def cell_sums(cells: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Sum of w per cell 0..k-1 (rows with a negative code are ignored); (k,) or (k, R)."""
    cells = np.asarray(cells)
    ok = cells >= 0
    if w.ndim == 1:
        return np.bincount(cells[ok], weights=w[ok], minlength=k)[:k]
    S = np.zeros((k, w.shape[1]))
    np.add.at(S, cells[ok], w[ok])
    return S


def _name(labels: Sequence[str] | None, j: int) -> str:
    return str(labels[j]) if labels is not None and j < len(labels) else f"cell {j}"


def poststratify_weights(
    cells: np.ndarray, w: np.ndarray, cell_totals: np.ndarray, *, labels: Sequence[str] | None = None
) -> np.ndarray:
    """New weights w * N_c / sum_{i in c} w_i for each row's cell c.

    cells: int code per row into cell_totals (a negative code: a row outside every cell, which must
    have zero weight and keeps it). labels: cell names for error messages (e.g. "stype=H").
    """
    cells = np.asarray(cells, dtype=np.int64)
    w = np.asarray(w, dtype=float)
    N = np.asarray(cell_totals, dtype=float)
    k = N.shape[0]
    if cells.shape[0] != w.shape[0]:
        raise WeightingError(f"post-stratification: {cells.shape[0]} cell codes for {w.shape[0]} weights")
    if np.any(cells >= k):
        raise WeightingError(
            f"post-stratification: a cell code is {int(cells.max())} but there are only {k} cell totals"
        )
    out_rows = cells < 0
    if np.any(out_rows):
        bad = np.nonzero(np.any((w != 0).reshape(w.shape[0], -1), axis=1) & out_rows)[0]
        if bad.size:
            raise WeightingError(
                f"row {int(bad[0]) + 1} has weight but is in no weighting cell; give a target for its level"
            )
    S = cell_sums(cells, w, k)
    Nb = N if S.ndim == 1 else N[:, None]
    empty = (S == 0) & (Nb > 0)
    if np.any(empty):
        j, *rest = np.argwhere(empty)[0]
        where = f" in replicate {rest[0] + 1}" if rest else ""
        raise WeightingError(
            f"weighting cell '{_name(labels, int(j))}' has no weighted respondents{where} but a "
            f"target of {N[j]:g}; merge it with a neighbouring level (collapse sparse cells)"
        )
    stray = (S != 0) & (Nb == 0)
    if np.any(stray):
        j = int(np.argwhere(stray)[0][0])
        raise WeightingError(
            f"weighting cell '{_name(labels, j)}' has respondents but a target of 0; give it a "
            "positive target or drop those rows"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(S != 0, Nb / S, 0.0)
    safe = np.where(out_rows, 0, cells)
    factor = f[safe]
    if np.any(out_rows):
        factor[out_rows] = 1.0
    return w * factor
