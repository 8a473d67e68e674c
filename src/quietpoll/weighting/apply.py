"""Applying a weighting to a design: Design -> Design.

A Taylor design gets new weights and a record of the weighting (records.py) so that its standard
errors use the weighting's residuals; a replicate design has every replicate weight column weighted
again to the same targets (R's postStratify / rake / calibrate for svyrep designs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import WeightingError
from .calibrate import calibrate_replicates, grake, model_matrix
from .collapse import collapse_sparse, collapse_totals
from .poststratify import poststratify_weights
from .rake import rake_weights
from .records import GregRecord, PostStratRecord, RakingRecord
from .targets import Margin, margin_codes, parse_targets, read_targets_csv
from .trim import trim_weights

METHODS = ("poststratify", "rake", "linear", "raking", "logit", "propensity")


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
    min_cell: int | None = None               # collapse categorical levels with fewer respondents
    reference: str | None = None              # propensity: the reference sample's data file
    covariates: tuple[str, ...] = ()          # propensity: covariates shared with the reference
    reference_weights: str | None = None      # propensity: weight column of the reference
    then: str | None = None                   # propensity: "rake" (or a calibration) to targets afterwards

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise WeightingError(f"[weighting] method must be one of {', '.join(METHODS)}, got '{self.method}'")
        if self.method == "logit" and (self.bounds is None or not all(np.isfinite(self.bounds))):
            raise WeightingError("logit calibration needs finite bounds, e.g. bounds = [0.3, 3.0]")
        if self.method == "propensity":
            if not self.reference or not self.covariates:
                raise WeightingError("propensity weighting needs reference = \"file\" and covariates = [...]")
            if self.then is not None and self.then not in METHODS[:-1]:
                raise WeightingError(f"[weighting] then must be one of {', '.join(METHODS[:-1])}")
            if self.then is not None and not self.targets:
                raise WeightingError(f"then = \"{self.then}\" needs [weighting.targets]")
        elif not self.targets:
            raise WeightingError("[weighting] has no targets: give [weighting.targets] or targets_csv")

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any], folder: Path | None = None) -> WeightingSpec:
        known = {"method", "targets", "targets_csv", "population", "bounds", "trim", "maxit", "epsilon",
                 "allow_nonconvergence", "min_cell", "reference", "covariates", "reference_weights", "then"}
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
        return cls(method=m.get("method", "rake"), targets=targets, population=m.get("population"),
                   bounds=tuple(b) if b is not None else None, trim=tuple(t) if t is not None else None,
                   maxit=m.get("maxit"), epsilon=m.get("epsilon"),
                   allow_nonconvergence=bool(m.get("allow_nonconvergence", False)), min_cell=m.get("min_cell"),
                   reference=_path(m.get("reference"), folder), covariates=tuple(m.get("covariates", ())),
                   reference_weights=m.get("reference_weights"), then=m.get("then"))


def apply_weighting(design, spec: WeightingSpec, report: list | None = None):
    """The design weighted to spec's targets (a new design; the input is unchanged). Cells collapsed
    for min_cell are appended to `report` when given."""
    if spec.method == "propensity":
        design = _propensity(design, spec)
        if spec.then is None:
            return trim_design(design, *spec.trim) if spec.trim is not None else design
        spec = replace(spec, method=spec.then, reference=None, covariates=(), then=None)
    frame = design.data
    margins = parse_targets(spec.targets, frame, population=spec.population, weights=design.weights,
                            allow_empty=bool(spec.min_cell))  # min_cell merges levels no interview has
    if spec.min_cell:
        frame, margins, collapsed = _collapse(frame, margins, design.weights, int(spec.min_cell))
        if report is not None:
            report.extend(collapsed)
    X = pop = None
    if spec.method in ("linear", "raking", "logit"):
        X, pop = model_matrix(frame, margins, population=spec.population)
    W = design.repweights.rows(slice(None)) if design.kind == "replicate" else None
    if spec.method == "poststratify":
        if len(margins) != 1 or margins[0].kind != "categorical":
            raise WeightingError("poststratify takes one categorical variable; use method = \"rake\" "
                                 "for several margins or a numeric total")
        cells = margin_codes(frame, margins[0])
        both = design.weights if W is None else np.column_stack([design.weights, W])
        new = poststratify_weights(cells, both, margins[0].totals, labels=_labels(margins[0]))
        w_new, W_new = (new, None) if W is None else (new[:, 0], new[:, 1:])
        record = PostStratRecord(cells, w_new, design.weights)
    elif spec.method == "rake":
        numeric = [m.variable for m in margins if m.kind != "categorical"]
        if numeric:
            raise WeightingError(f"rake takes categorical margins; '{numeric[0]}' is a numeric total: use "
                                 "method = \"raking\" (calibration) for numeric totals")
        codes = [margin_codes(frame, m) for m in margins]
        res = rake_weights(codes, design.weights, [m.totals for m in margins], labels=[_labels(m) for m in margins],
                           allow_nonconvergence=spec.allow_nonconvergence, replicates=W, **_control(spec))
        w_new, W_new = res.weights, res.replicate_weights
        record = RakingRecord.from_result(codes, res)
    else:
        bounds = spec.bounds if spec.bounds is not None else (-np.inf, np.inf)
        g = grake(X, design.weights, pop, calfun=spec.method, bounds=bounds, **_control(spec))
        w_new = design.weights * g
        record = GregRecord.from_fit(X, design.weights, g)
        W_new = None
        if W is not None:
            W_new, _failed = calibrate_replicates(X, W, pop, calfun=spec.method, bounds=bounds, **_control(spec))
    if W is None:
        out = design.with_weights(w_new, record)
    else:
        out = _replicate_design(design, w_new, W_new)
    if spec.trim is not None:
        out = trim_design(out, *spec.trim)
    return out


def _propensity(design, spec: WeightingSpec):
    """Inverse-propensity weights against the reference sample (the replicate weights, if any, are
    scaled by the same adjustment: the propensity model is not refitted per replicate)."""
    from ..io import read_data
    from .propensity import propensity_weights

    ref = read_data(spec.reference).frame
    rw = None
    if spec.reference_weights:
        if spec.reference_weights not in ref.columns:
            raise WeightingError(f"reference weight column '{spec.reference_weights}' is not in {spec.reference}")
        rw = ref.get_column(spec.reference_weights).cast(pl.Float64).to_numpy()
    res = propensity_weights(design.data, ref, spec.covariates, sample_weights=design.weights, reference_weights=rw)
    if design.kind == "taylor":
        return design.with_weights(res.weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(design.weights > 0, res.weights / design.weights, 0.0)
    return _replicate_design(design, res.weights, design.repweights.rows(slice(None)) * factor[:, None])


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


def _control(spec: WeightingSpec) -> dict:
    return {k: v for k, v in (("maxit", spec.maxit), ("epsilon", spec.epsilon)) if v is not None}


def _replicate_design(design, w_new, W_new):
    from ..design.replicate import ReplicateDesign

    return ReplicateDesign.from_arrays(design.data, w_new, W_new, type=design.type, scale=design.scale,
                                       rscales=design.rscales, mse=design.mse, rho=design.rho, spec=design.spec)


def trim_design(design, lower: float | None, upper: float | None, strict: bool = False):
    """R's trimWeights: weights outside [lower, upper] are set to the bound and the excess shared out."""
    new = trim_weights(design.weights, lower=lower, upper=upper, strict=strict)
    if design.kind == "taylor":
        return design.with_weights(new)
    # every replicate trimmed to the same bounds (R 4.1.1's trimWeights for replicate designs leaves
    # the full-sample weights untouched: a bug this does not copy)
    W = design.repweights.rows(slice(None))
    rep = np.column_stack([trim_weights(W[:, r], lower=lower, upper=upper, strict=strict)
                           for r in range(W.shape[1])])
    return _replicate_design(design, new, rep)


def _labels(m: Margin) -> Sequence[str]:
    return [f"{m.variable}={lev}" for lev in m.levels]
