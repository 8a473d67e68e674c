"""What every design kind shares: column access with clear errors, and the weight checks."""

from __future__ import annotations

import difflib
import re

import numpy as np
import polars as pl

from ..errors import ColumnError, DesignError, EstimationError


def require_column(frame: pl.DataFrame, name: str, role: str, *, param: str | None = None) -> pl.Series:
    """The column; ColumnError naming `role` (or the parameter `param` that named the column)."""
    if name not in frame.columns:
        close = difflib.get_close_matches(name, frame.columns, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        what = "{" + param + "}" if param else role
        raise ColumnError(f"{what} column '{name}' is not in the data{hint}", param=param)
    return frame.get_column(name)


def numeric_column(frame: pl.DataFrame, name: str, role: str, *, allow_null: bool = False) -> np.ndarray:
    """A column as float64; raises ColumnError if it is missing, not numeric, or (unless allowed) has nulls."""
    s = require_column(frame, name, role)
    if s.dtype == pl.Boolean:
        s = s.cast(pl.Float64)
    if not s.dtype.is_numeric():
        raise ColumnError(f"{role} column '{name}' is not numeric (it holds {s.dtype}); give a numeric column")
    if not allow_null and s.null_count():
        raise ColumnError(f"{role} column '{name}' has {s.null_count()} missing value(s); fill them or drop those rows")
    out = s.cast(pl.Float64).to_numpy()
    if not allow_null and np.isnan(out).any():
        raise ColumnError(f"{role} column '{name}' has NaN values; fill them or drop those rows")
    return out


def design_weights(frame: pl.DataFrame, weights: str | None, probs: str | None) -> np.ndarray:
    """Sampling weights from a weight column, a probability column, or equal weights."""
    n = frame.height
    if weights:
        w = numeric_column(frame, weights, "weights")
        if not np.isfinite(w).all():
            raise DesignError(f"weights column '{weights}' has infinite values")
        if (w < 0).any():
            bad = int(np.flatnonzero(w < 0)[0])
            raise DesignError(
                f"weights column '{weights}' has negative values (first at row {bad}: {w[bad]}); weights must be >= 0"
            )
        return w
    if probs:
        p = numeric_column(frame, probs, "probabilities")
        if ((p <= 0) | (p > 1)).any():
            bad = int(np.flatnonzero((p <= 0) | (p > 1))[0])
            raise DesignError(f"probabilities column '{probs}' must be in (0, 1] (row {bad}: {p[bad]})")
        return 1.0 / p
    return np.ones(n)


def missing_engine(what: str, needs: str) -> EstimationError:
    """The error when a statistic offers no way of measuring its variance that this design uses;
    `what` may name parameters as {placeholders} (errors.py)."""
    named = re.findall(r"\{(\w+)\}", what)
    return EstimationError(f"{what} needs {needs}", param=named[0] if named else None, also=tuple(named[1:]))


class Weightable:
    """Weighting methods shared by every design kind; each returns a new design (weighting/apply.py)."""

    def weight(self, spec):
        from ..weighting.apply import apply_weighting

        return apply_weighting(self, spec)

    def poststratify(self, targets, *, population: float | None = None):
        """Post-stratify to the population counts of one categorical variable (R's postStratify)."""
        from ..weighting.apply import WeightingSpec

        return self.weight(WeightingSpec("poststratify", targets, population))

    def rake(self, targets, *, population: float | None = None, maxit: int | None = None, epsilon: float | None = None):
        """Rake to categorical margins by iterative proportional fitting (R's rake)."""
        from ..weighting.apply import WeightingSpec

        return self.weight(WeightingSpec("rake", targets, population, maxit=maxit, epsilon=epsilon))

    def calibrate(
        self,
        targets,
        *,
        calfun: str = "linear",
        bounds=None,
        population: float | None = None,
        maxit: int | None = None,
        epsilon: float | None = None,
    ):
        """Calibrate to margins and totals: calfun linear (GREG), raking or logit with bounds (R's calibrate)."""
        from ..weighting.apply import WeightingSpec

        return self.weight(
            WeightingSpec(
                calfun,
                targets,
                population,
                bounds=None if bounds is None else tuple(bounds),
                maxit=maxit,
                epsilon=epsilon,
            )
        )

    def trim(self, lower: float | None = None, upper: float | None = None, strict: bool = False):
        """Trim weights to [lower, upper], sharing the excess out (R's trimWeights)."""
        from ..weighting.apply import trim_design

        return trim_design(self, lower, upper, strict)
