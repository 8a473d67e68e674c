"""Raking (iterative proportional fitting) as R's survey::rake.

One sweep post-stratifies the weights to each margin in the order given. R's convergence rule:
before the first sweep and after every sweep, R tabulates the weights over the *joint*
cross-classification of all margin variables (svytable(~a + b + ...)); the change of a sweep is the
largest absolute change of any joint cell's weighted count. Raking has converged when that change is
below ``epsilon`` -- an absolute number of (weighted) people when ``epsilon >= 1`` (R's default
control = list(maxit = 10, epsilon = 1)), and ``epsilon * sum(initial weights)`` when
``epsilon < 1``. At most ``maxit`` sweeps are run; R then only warns and keeps the last weights.

Replicate weights (R's rake on a replicate design): every replicate column is post-stratified in
the same sweeps as the full sample, and the full sample alone decides when to stop, so each replicate
gets exactly as many sweeps as the full-sample weights (not raked to its own convergence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import WeightingError
from .poststratify import cell_sums, poststratify_weights

__all__ = ["RakeResult", "rake_weights"]


@dataclass(frozen=True, eq=False)
class RakeResult:
    weights: np.ndarray            # (n,) raked weights
    iterations: int                # sweeps run
    converged: bool
    max_change: float              # R's criterion after the last sweep (largest joint-cell change)
    last_sweep: tuple[np.ndarray, ...] = ()   # weights after each margin's step in the last sweep
    replicate_weights: np.ndarray | None = None   # (n, R) when replicates were given
    margin_error: float = 0.0      # largest |achieved - target| over all margins' cells
    replicate_last_sweep: tuple[np.ndarray, ...] = field(default=())


def _joint(codes: Sequence[np.ndarray]) -> np.ndarray:
    """The cell of the joint cross-classification of all margins, as one integer code (mixed radix
    over the margins' codes, -1 codes shifted to 0), compressed to the cells that occur."""
    from ..design.codes import factorize

    arrays = [np.asarray(c, dtype=np.int64) + 1 for c in codes]
    return factorize(*arrays)[0]


def _margin_name(labels, i: int) -> str:
    if labels is not None and i < len(labels) and len(labels[i]):
        first = str(labels[i][0])
        if "=" in first:
            return first.split("=", 1)[0]
    return f"margin {i + 1}"


def rake_weights(margins_codes: list[np.ndarray], w: np.ndarray, totals: list[np.ndarray], *,
                 maxit: int = 10, epsilon: float = 1, labels: Sequence[Sequence[str]] | None = None,
                 allow_nonconvergence: bool = False, replicates: np.ndarray | None = None) -> RakeResult:
    """Rake w to every margin (cell codes per row into that margin's totals), as R's rake()."""
    if len(margins_codes) != len(totals):
        raise WeightingError(f"raking: {len(margins_codes)} margins but {len(totals)} sets of targets")
    if not margins_codes:
        raise WeightingError("raking needs at least one margin")
    w0 = np.asarray(w, dtype=float)
    codes = [np.asarray(c, dtype=np.int64) for c in margins_codes]
    tots = [np.asarray(t, dtype=float) for t in totals]
    eps = epsilon * float(np.sum(w0)) if epsilon < 1 else float(epsilon)
    # Raking only ever multiplies all rows of a cell of the joint cross-classification by the same
    # factors, so it runs on the table of joint-cell totals; rows get their cell's factor at the end.
    joint = _joint(codes)
    kj = int(joint.max()) + 1 if joint.size else 0
    first = np.full(kj, len(joint), dtype=np.int64)
    np.minimum.at(first, joint, np.arange(len(joint)))
    cell_codes = [c[first] for c in codes]          # each joint cell's level of every margin
    T0 = np.bincount(joint, weights=w0, minlength=kj)
    T = T0.copy()
    R = None if replicates is None else np.asarray(replicates, dtype=float)
    TR0 = None if R is None else np.column_stack([np.bincount(joint, weights=R[:, r], minlength=kj)
                                                   for r in range(R.shape[1])])
    TR = None if TR0 is None else TR0.copy()
    lab = (lambda i: None) if labels is None else (lambda i: labels[i])
    it = 0
    converged = False
    delta = np.inf
    steps: list[np.ndarray] = []
    rsteps: list[np.ndarray] = []
    old = T0
    while it < maxit:
        steps = []
        rsteps = []
        for i, (c, t) in enumerate(zip(cell_codes, tots)):
            T = poststratify_weights(c, T, t, labels=lab(i))
            steps.append(T)
            if TR is not None:
                TR = poststratify_weights(c, TR, t, labels=lab(i))
                rsteps.append(TR)
        delta = float(np.max(np.abs(old - T))) if kj else 0.0
        if delta < eps:
            converged = True
            break
        old = T
        it += 1

    def rows(table, base, weights):
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(base != 0, table / base, 0.0)
        return weights * factor[joint] if weights.ndim == 1 else weights * factor[joint]

    w = rows(T, T0, w0)
    steps = [rows(x, T0, w0) for x in steps]
    if R is not None:
        R = rows(TR, TR0, R)
        rsteps = [rows(x, TR0, np.asarray(replicates, dtype=float)) for x in rsteps]
    sweeps = it + 1 if converged else it
    errs = [np.abs(cell_sums(c, T, len(t)) - t) for c, t in zip(cell_codes, tots)]   # on the joint table
    worst = int(np.argmax([e.max() if e.size else 0.0 for e in errs]))
    margin_error = float(errs[worst].max()) if errs[worst].size else 0.0
    if not converged and not allow_nonconvergence:
        names = ", ".join(_margin_name(labels, i) for i in range(len(codes)))
        raise WeightingError(
            f"raking on {names} did not converge in {maxit} sweeps: the last sweep still moved a cell by "
            f"{delta:.4g} (epsilon {eps:g}) and '{_margin_name(labels, worst)}' is off its targets by up to "
            f"{margin_error:.4g}; raise maxit, merge sparse levels or check the targets are consistent")
    return RakeResult(weights=w, iterations=sweeps, converged=converged, max_change=delta,
                      last_sweep=tuple(steps), replicate_weights=R, margin_error=margin_error,
                      replicate_last_sweep=tuple(rsteps))
