"""Weight trimming as R's survey::trimWeights.

Weights strictly below ``lower`` or above ``upper`` are set to that bound; the total trimmed off
(net of what raising weights to ``lower`` added) is shared out *equally* -- the same amount added to
every weight that was inside the bounds (R: ``pwnew[!outside] + sum(trimmings)/sum(!outside)``), so
the sum of the weights is unchanged. This is R's rule, not a proportional redistribution.

One pass can push weights that were inside past a bound. ``strict=True`` repeats the pass until no
weight is strictly outside (R recurses; a weight that sits exactly on a bound counts as inside and
takes its share in the next pass). Strict trimming is impossible when the mean weight is itself
outside the bounds; R then recurses until its stack overflows -- here that is a WeightingError.
"""

from __future__ import annotations

import numpy as np

from ..errors import WeightingError

__all__ = ["trim_weights"]

_MAX_PASSES = 100_000


def _one_pass(w: np.ndarray, lower: float, upper: float) -> tuple[np.ndarray, bool]:
    outside = (w < lower) | (w > upper)
    if not outside.any():
        return w, False
    inside = ~outside
    k = int(inside.sum())
    if k == 0:
        raise WeightingError(
            f"every weight is outside the trimming bounds [{lower:g}, {upper:g}]; nothing is "
            "left to take the trimmed weight: widen the bounds"
        )
    new = np.minimum(np.maximum(w, lower), upper)
    share = float(np.sum(w - new)) / k
    new = np.where(inside, new + share, new)
    return new, True


def trim_weights(
    w: np.ndarray, lower: float | None = None, upper: float | None = None, strict: bool = False
) -> np.ndarray:
    """Trimmed weights as R's trimWeights(design, upper, lower, strict)."""
    w = np.asarray(w, dtype=float)
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if not lo <= hi:
        raise WeightingError(f"trimming bounds: lower {lo:g} is above upper {hi:g}; swap them")
    if w.size == 0:
        return w.copy()
    new, changed = _one_pass(w, lo, hi)
    if not strict or not changed:
        return new if changed else w.copy()
    mean = float(np.mean(w))
    if mean > hi or mean < lo:
        bound = f"upper bound {hi:g}" if mean > hi else f"lower bound {lo:g}"
        raise WeightingError(
            f"strict trimming is impossible: the mean weight {mean:.6g} is beyond the {bound}, "
            "so the total cannot be kept with every weight inside; widen the bounds"
        )
    for _ in range(_MAX_PASSES):
        new, changed = _one_pass(new, lo, hi)
        if not changed:
            return new
    raise WeightingError(
        f"strict trimming to [{lo:g}, {hi:g}] did not settle in {_MAX_PASSES} passes; widen the bounds"
    )
