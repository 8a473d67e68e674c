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
from dataclasses import dataclass

import numpy as np

from ..codes import combine_codes, gather, joint_sums
from ..errors import WeightingError
from .poststratify import cell_sums, poststratify_weights

__all__ = ["RakeResult", "rake_weights"]


@dataclass(frozen=True, eq=False)
class RakeResult:
    weights: np.ndarray  # (n,) raked weights
    iterations: int  # sweeps run
    converged: bool
    max_change: float  # R's criterion after the last sweep (largest joint-cell change)
    joint: np.ndarray  # (n,) each row's cell of the joint cross-classification
    base_weights: np.ndarray  # (n,) weights before raking
    replicate_weights: np.ndarray | None = None  # (n, R) when replicates were given
    margin_error: float = 0.0  # largest |achieved - target| over all margins' cells
    factors: tuple[np.ndarray, ...] = ()  # per joint cell: weight after each margin's step of the
    #                                              last sweep / weight before raking
    replicate_factors: tuple[np.ndarray, ...] = ()
    replicate_base: np.ndarray | None = None  # (n, R) replicate weights before raking, when given

    @property
    def last_sweep(self) -> tuple[np.ndarray, ...]:
        """(n,) weights after each margin's step in the last sweep (made on demand: n floats each)."""
        return tuple(to_rows(f, self.joint, self.base_weights) for f in self.factors)

    @property
    def replicate_last_sweep(self) -> tuple[np.ndarray, ...]:
        if self.replicate_base is None:  # no replicates: no replicate_factors either
            return ()
        return tuple(to_rows(f, self.joint, self.replicate_base) for f in self.replicate_factors)


def cell_factors(table: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Per joint cell (rows of table), the factor that turns base weights into table's: 0 for empty cells."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base != 0, table / base, 0.0)


def to_rows(factor: np.ndarray, joint: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each row's weight times its joint cell's factor (one gather, one in-place product)."""
    out = gather(factor, joint)
    out *= weights
    return out


def _margin_name(labels, i: int) -> str:
    if labels is not None and i < len(labels) and len(labels[i]):
        first = str(labels[i][0])
        if "=" in first:
            return first.split("=", 1)[0]
    return f"margin {i + 1}"


def rake_weights(
    margins_codes: list[np.ndarray],
    w: np.ndarray,
    totals: list[np.ndarray],
    *,
    maxit: int = 10,
    epsilon: float = 1,
    labels: Sequence[Sequence[str]] | None = None,
    allow_nonconvergence: bool = False,
    replicates: np.ndarray | None = None,
) -> RakeResult:
    """Rake w to every margin (cell codes per row into that margin's totals), as R's rake()."""
    if len(margins_codes) != len(totals):
        raise WeightingError(f"raking: {len(margins_codes)} margins but {len(totals)} sets of targets")
    if not margins_codes:
        raise WeightingError("raking needs at least one margin")
    w0 = np.asarray(w, dtype=float)
    tots = [np.asarray(t, dtype=float) for t in totals]
    codes = [np.asarray(c) for c in margins_codes]
    R = None if replicates is None else np.asarray(replicates, dtype=float)
    lab = (lambda i: None) if labels is None else (lambda i: labels[i])
    for i, (c, t) in enumerate(zip(codes, tots)):
        if c.shape[0] != w0.shape[0]:
            raise WeightingError(f"raking: {c.shape[0]} cell codes for {w0.shape[0]} weights")
        if c.size and int(c.max()) >= len(t):
            raise WeightingError(
                f"raking: a cell code of {_margin_name(labels, i)} is {int(c.max())} but there "
                f"are only {len(t)} targets"
            )
        if c.size and int(c.min()) < 0:
            out = c < 0
            has = (w0 != 0) if R is None else ((w0 != 0) | np.any(R != 0, axis=1))
            bad = np.flatnonzero(out & has)
            if bad.size:
                raise WeightingError(
                    f"row {int(bad[0]) + 1} has weight but is in no weighting cell of "
                    f"{_margin_name(labels, i)}; give a target for its level"
                )
    eps = epsilon * float(np.sum(w0)) if epsilon < 1 else float(epsilon)
    # Raking only ever multiplies all rows of a cell of the joint cross-classification by the same
    # factors, so it runs on the table of joint-cell totals; rows get their cell's factor at the end.
    joint, cell_codes = combine_codes(codes, [len(t) for t in tots])
    kj = len(cell_codes[0])
    T0 = joint_sums(joint, kj, w0)
    T = T0
    TR0 = None if R is None else np.column_stack([joint_sums(joint, kj, R[:, r]) for r in range(R.shape[1])])
    TR = TR0
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

    weights = to_rows(cell_factors(T, T0), joint, w0)
    RW = None
    replicate_factors: tuple[np.ndarray, ...] = ()
    if R is not None and TR is not None and TR0 is not None:  # all three or none: replicates were given
        RW = to_rows(cell_factors(TR, TR0), joint, R)
        replicate_factors = tuple(cell_factors(x, TR0) for x in rsteps)
    sweeps = it + 1 if converged else it
    errs = [np.abs(cell_sums(c, T, len(t)) - t) for c, t in zip(cell_codes, tots)]  # on the joint table
    worst = int(np.argmax([e.max() if e.size else 0.0 for e in errs]))
    margin_error = float(errs[worst].max()) if errs[worst].size else 0.0
    if not converged and not allow_nonconvergence:
        names = ", ".join(_margin_name(labels, i) for i in range(len(codes)))
        raise WeightingError(
            f"raking on {names} did not converge in {maxit} sweeps: the last sweep still moved a cell by "
            f"{delta:.4g} (epsilon {eps:g}) and '{_margin_name(labels, worst)}' is off its targets by up to "
            f"{margin_error:.4g}; raise maxit, merge sparse levels or check the targets are consistent"
        )
    return RakeResult(
        weights=weights,
        iterations=sweeps,
        converged=converged,
        max_change=delta,
        replicate_weights=RW,
        margin_error=margin_error,
        joint=joint,
        base_weights=w0,
        factors=tuple(cell_factors(x, T0) for x in steps),
        replicate_factors=replicate_factors,
        replicate_base=R,
    )
