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
    stacked = np.stack([np.asarray(c, dtype=np.int64) for c in codes], axis=1)
    _, inv = np.unique(stacked, axis=0, return_inverse=True)
    return inv.reshape(-1)


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
    w = np.asarray(w, dtype=float)
    codes = [np.asarray(c, dtype=np.int64) for c in margins_codes]
    tots = [np.asarray(t, dtype=float) for t in totals]
    eps = epsilon * float(np.sum(w)) if epsilon < 1 else float(epsilon)
    joint = _joint(codes)
    kj = int(joint.max()) + 1 if joint.size else 0
    old = np.bincount(joint, weights=w, minlength=kj)
    R = None if replicates is None else np.asarray(replicates, dtype=float)
    lab = (lambda i: None) if labels is None else (lambda i: labels[i])
    it = 0
    converged = False
    delta = np.inf
    steps: list[np.ndarray] = []
    rsteps: list[np.ndarray] = []
    while it < maxit:
        steps = []
        rsteps = []
        for i, (c, t) in enumerate(zip(codes, tots)):
            w = poststratify_weights(c, w, t, labels=lab(i))
            steps.append(w)
            if R is not None:
                R = poststratify_weights(c, R, t, labels=lab(i))
                rsteps.append(R)
        new = np.bincount(joint, weights=w, minlength=kj)
        delta = float(np.max(np.abs(old - new))) if kj else 0.0
        if delta < eps:
            converged = True
            break
        old = new
        it += 1
    sweeps = it + 1 if converged else it
    errs = [np.abs(cell_sums(c, w, len(t)) - t) for c, t in zip(codes, tots)]
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
