"""Applying a weighting to a design: Design -> Design.

A Taylor design gets new weights and a record of the weighting (records.py) so that its standard
errors use the weighting's residuals; a replicate design has every replicate weight column weighted
again to the same targets (R's postStratify / rake / calibrate for svyrep designs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import WeightingError
from .calibrate import model_matrix
from .collapse import collapse_sparse, collapse_totals
from .methods import METHODS
from .targets import Margin, margin_codes, parse_targets, read_targets_csv
from .trim import trim_weights


@dataclass(frozen=True)
class WeightingSpec:
    """The [weighting] section of study.toml (or the same as Python arguments)."""

    method: str = "rake"
    targets: Mapping[str, Any] = field(default_factory=dict)
    population: float | None = None
    bounds: tuple[float, float] | None = None
    trim: tuple[float, float] | None = None
    maxit: int | None = None
    epsilon: float | None = None
    allow_nonconvergence: bool = False
    min_cell: int | None = None  # collapse categorical levels with fewer respondents
    reference: str | None = None  # propensity: the reference sample's data file
    covariates: tuple[str, ...] = ()  # propensity: covariates shared with the reference
    reference_weights: str | None = None  # propensity: weight column of the reference
    then: str | None = None  # propensity: "rake" (or a calibration) to targets afterwards

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise WeightingError(f"{{method}} must be one of {', '.join(METHODS)}, got '{self.method}'", param="method")
        if self.method == "logit" and (self.bounds is None or not all(np.isfinite(self.bounds))):
            raise WeightingError("logit calibration needs finite bounds, e.g. bounds = [0.3, 3.0]")
        if self.method == "propensity":
            if not self.reference or not self.covariates:
                raise WeightingError('propensity weighting needs reference = "file" and covariates = [...]')
            follow = [m for m, entry in METHODS.items() if entry.step is not None]
            if self.then is not None and self.then not in follow:
                raise WeightingError(f"{{then}} must be one of {', '.join(follow)}", param="then")
            if self.then is not None and not self.targets:
                raise WeightingError(f'then = "{self.then}" needs [weighting.targets]')
        elif not self.targets:
            raise WeightingError("[weighting] has no targets: give [weighting.targets] or targets_csv")

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any], folder: Path | None = None) -> WeightingSpec:
        known = {
            "method",
            "targets",
            "targets_csv",
            "population",
            "bounds",
            "trim",
            "maxit",
            "epsilon",
            "allow_nonconvergence",
            "min_cell",
            "reference",
            "covariates",
            "reference_weights",
            "then",
        }
        unknown = set(m) - known
        if unknown:
            raise WeightingError(f"[weighting] has unknown key(s): {', '.join(sorted(unknown))}")
        targets = dict(m.get("targets", {}))
        if m.get("targets_csv"):
            p = Path(m["targets_csv"])
            if folder is not None and not p.is_absolute():
                p = folder / p
            targets.update(read_targets_csv(p))
        b = m.get("bounds")
        t = m.get("trim")
        return cls(
            method=m.get("method", "rake"),
            targets=targets,
            population=m.get("population"),
            bounds=tuple(b) if b is not None else None,
            trim=tuple(t) if t is not None else None,
            maxit=m.get("maxit"),
            epsilon=m.get("epsilon"),
            allow_nonconvergence=bool(m.get("allow_nonconvergence", False)),
            min_cell=m.get("min_cell"),
            reference=_path(m.get("reference"), folder),
            covariates=tuple(m.get("covariates", ())),
            reference_weights=m.get("reference_weights"),
            then=m.get("then"),
        )


def apply_weighting(design, spec: WeightingSpec, report: list | None = None):
    """The design weighted to spec's targets (a new design; the input is unchanged). Cells collapsed
    for min_cell are appended to `report` when given."""
    if METHODS[spec.method].step is None:  # propensity: a model, then (optionally) targets
        design = _propensity(design, spec)
        if spec.then is None:
            return trim_design(design, *spec.trim) if spec.trim is not None else design
        spec = replace(spec, method=spec.then, reference=None, covariates=(), then=None)
    frame = design.data
    margins = parse_targets(
        spec.targets, frame, population=spec.population, weights=design.weights, allow_empty=bool(spec.min_cell)
    )  # min_cell merges levels no interview has
    if spec.min_cell:
        frame, margins, collapsed = _collapse(frame, margins, design.weights, int(spec.min_cell))
        if report is not None:
            report.extend(collapsed)
    X = pop = None
    method = METHODS[spec.method]
    step = method.step
    if step is None:  # propensity alone has no step, and was run above (WeightingSpec checks `then`)
        raise WeightingError(f"weighting method '{spec.method}' has no step to targets")
    if method.model_matrix:
        X, pop = model_matrix(frame, margins, population=spec.population)
    out = design.reweight(lambda w, W: step(spec, frame, margins, X, pop, w, W))
    if spec.trim is not None:
        out = trim_design(out, *spec.trim)
    return out


def _propensity(design, spec: WeightingSpec):
    """Inverse-propensity weights against the reference sample (the replicate weights, if any, are
    scaled by the same adjustment: the propensity model is not refitted per replicate)."""
    from ..io import read_data
    from .propensity import propensity_weights

    if spec.reference is None:  # WeightingSpec refuses propensity without one
        raise WeightingError('propensity weighting needs reference = "file" and covariates = [...]')
    ref = read_data(spec.reference).frame
    rw = None
    if spec.reference_weights:
        if spec.reference_weights not in ref.columns:
            raise WeightingError(f"reference weight column '{spec.reference_weights}' is not in {spec.reference}")
        rw = ref.get_column(spec.reference_weights).cast(pl.Float64).to_numpy()
    res = propensity_weights(design.data, ref, spec.covariates, sample_weights=design.weights, reference_weights=rw)

    def step(w, W):
        if W is None:
            return res.weights, None, None
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(w > 0, res.weights / w, 0.0)
        return res.weights, W * factor[:, None], None

    return design.reweight(step)


def _collapse(frame, margins, w, min_cell):
    """Categorical margins with sparse sample cells merged into neighbours (targets summed)."""
    out, cols, records = [], [], []
    for m in margins:
        if m.kind != "categorical":
            out.append(m)
            continue
        codes = margin_codes(frame, m)
        new_codes, levels, rec = collapse_sparse(codes, m.levels, w, min_cell, variable=m.variable)
        if not rec:
            out.append(m)
            continue
        _, totals = collapse_totals(m.levels, m.totals, rec)
        text = np.where(new_codes >= 0, np.asarray(levels, dtype=object)[np.maximum(new_codes, 0)], None)
        cols.append(pl.Series(m.variable, text, dtype=pl.String))
        out.append(Margin(m.variable, "categorical", tuple(levels), np.asarray(totals, float)))
        records.extend(rec)
    return (frame.with_columns(cols) if cols else frame), out, records


def _path(p, folder):
    if p is None:
        return None
    q = Path(p)
    return str(folder / q) if folder is not None and not q.is_absolute() else str(q)


def trim_design(design, lower: float | None, upper: float | None, strict: bool = False):
    """R's trimWeights: weights outside [lower, upper] are set to the bound and the excess shared out.
    Every replicate is trimmed to the same bounds (R 4.1.1's trimWeights for replicate designs leaves
    the full-sample weights untouched: a bug this does not copy)."""

    def step(w, W):
        new = trim_weights(w, lower=lower, upper=upper, strict=strict)
        if W is None:
            return new, None, None
        rep = np.column_stack(
            [trim_weights(W[:, r], lower=lower, upper=upper, strict=strict) for r in range(W.shape[1])]
        )
        return new, rep, None

    return design.reweight(step)
