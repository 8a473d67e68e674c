"""Taylor-linearization designs: strata, any number of cluster stages, fpc per stage.

The variance engine is R's `svyrecvar` re-derived for arrays: a statistic hands over its influence
values (weighted scores) for the rows of its analysis domain; they are summed to unit totals with
`bincount`, centred within strata, scaled by (1 - f) n_h / (n_h - 1) and cross-multiplied. Later
stages add their within-unit variance times the earlier stages' sampling fractions, as R does when
an fpc is given. Domains never drop rows: a domain is a set of row indices, and the PSU counts of the
whole design are kept (R's `subset` does the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ..codes import column_array, factorize
from ..errors import DesignError, LonelyPSUError
from .base import Weightable, design_weights, missing_engine, numeric_column, require_column
from .spec import DESIGN_KINDS, DesignSpec


@dataclass(frozen=True, eq=False)
class Stage:
    """One sampling stage: units (clusters) nested in strata."""

    strata: np.ndarray  # (n,) stratum code of each row at this stage
    units: np.ndarray  # (n,) unit code of each row (unique across strata)
    unit_stratum: np.ndarray  # (U,) stratum code of each unit
    n_units: np.ndarray  # (H,) sampled units per stratum in the whole design
    popsize: np.ndarray | None  # (U,) population units in the unit's stratum, inf = no fpc
    labels: list[tuple]  # (H,) stratum labels, for messages
    identity: bool = False  # every row is its own unit (element sampling)

    @property
    def n_strata(self) -> int:
        return len(self.n_units)


@dataclass(frozen=True, eq=False)
class TaylorDesign(Weightable):
    """A probability sample analysed by linearization (R's svydesign)."""

    data: pl.DataFrame
    weights: np.ndarray
    stages: tuple[Stage, ...]
    spec: DesignSpec
    has_strata: bool
    calibrations: tuple = ()  # weighting records (weighting/records.py), in the order applied
    _cache: dict = field(default_factory=dict, repr=False)

    kind = "taylor"

    @property
    def n(self) -> int:
        return self.data.height

    @classmethod
    def from_spec(cls, data: pl.DataFrame, spec: DesignSpec) -> TaylorDesign:
        n = data.height
        if n == 0:
            raise DesignError("the data have no rows")
        w = design_weights(data, spec.weights, spec.probs)
        ids = list(spec.ids)
        id_arrays = [_group_column(data, c, "ids (cluster)") for c in ids]
        strata_arr = _group_column(data, spec.strata, "strata") if spec.strata else None
        if strata_arr is not None:
            s_codes, n_h, s_labels = factorize(strata_arr)
        else:
            s_codes, n_h, s_labels = np.zeros(n, np.int64), 1, [("all",)]

        # one stage of element sampling when no cluster ids are given
        n_stages = max(1, len(id_arrays))
        if spec.fpc and len(spec.fpc) > n_stages:
            raise DesignError(
                f"{len(spec.fpc)} fpc column(s) for {n_stages} sampling stage(s): give at most one fpc per stage"
            )
        fpc_arrays = [numeric_column(data, c, "fpc") for c in spec.fpc]
        fpc_is_size = _fpc_kind(fpc_arrays, spec.fpc) if fpc_arrays else False

        stages: list[Stage] = []
        for k in range(n_stages):
            if not ids:
                u_codes, n_u = np.arange(n, dtype=np.int64), n
            else:
                # a stage's unit is the combination of the ids so far (and the stratum, with nest)
                keys = id_arrays[: k + 1]
                if spec.nest and strata_arr is not None:
                    keys = [s_codes, *keys]
                u_codes, n_u, _ = factorize(*keys)
            if k == 0:
                st_codes, st_labels, H = s_codes, s_labels, n_h
                if ids and not spec.nest and strata_arr is not None:
                    _check_nested(u_codes, s_codes, n_u)
            else:
                # later stages are stratified by the unit of the stage before (R's interaction)
                st_codes, H = stages[-1].units, len(stages[-1].unit_stratum)
                st_labels = [("stage", k, "unit", i) for i in range(H)]
            unit_stratum = np.zeros(n_u, np.int64)
            unit_stratum[u_codes] = st_codes
            n_units = np.bincount(unit_stratum, minlength=H)
            popsize = None
            if k < len(fpc_arrays):
                popsize = _popsize(
                    fpc_arrays[k], u_codes, unit_stratum, n_units, spec.fpc[k], k, st_labels, fpc_is_size
                )
            if k == 0 and n_u == 1 and not (spec.nest and strata_arr is not None):
                raise DesignError("the design has only one primary sampling unit: no variance can be estimated")
            stages.append(
                Stage(st_codes, u_codes, unit_stratum, n_units, popsize, st_labels, identity=(not ids and k == 0))
            )
        if not spec.weights and not spec.probs and spec.fpc:
            # no weights given: the fpc implies them, 1 / product of the stages' sampling fractions
            w = np.ones(n)
            for st in stages:
                if st.popsize is not None:
                    w = w * (st.popsize / st.n_units[st.unit_stratum])[st.units]
        return cls(data=data, weights=w, stages=tuple(stages), spec=spec, has_strata=strata_arr is not None)

    # ---- what estimators call -------------------------------------------------------------------

    def with_weights(self, weights: np.ndarray, record=None) -> TaylorDesign:
        """The same design with new weights; `record` (from weighting) makes the variance use the
        weighting's residuals, as R's postStratify / rake / calibrate do."""
        cal = self.calibrations + ((record,) if record is not None else ())
        return TaylorDesign(self.data, np.asarray(weights, float), self.stages, self.spec, self.has_strata, cal)

    def nonzero(self, rows) -> int:
        """Rows with a non-zero weight among `rows` (R's nobs for design effects)."""
        if isinstance(rows, slice):
            if "nonzero" not in self._cache:
                self._cache["nonzero"] = int(np.count_nonzero(self.weights))
            return self._cache["nonzero"]
        return int(np.count_nonzero(self.weights[rows]))

    def degf(self, rows: np.ndarray | None = None) -> float:
        """Design degrees of freedom (R's degf): PSUs minus strata among the rows with weight."""
        st = self.stages[0]
        if rows is None:
            if "degf" in self._cache:
                return self._cache["degf"]
            self._cache["degf"] = self.degf(np.flatnonzero(self.weights != 0))
            return self._cache["degf"]
        else:
            rows = rows[self.weights[rows] != 0]
        if len(rows) == 0:
            return 0.0
        nu = _n_distinct(st.units[rows], len(st.unit_stratum))
        nh = _n_distinct(st.strata[rows], st.n_strata)
        return float(nu - nh)

    def variance(self, rows: np.ndarray | slice, scores) -> np.ndarray:
        """Covariance matrix (q x q) of the totals of `scores` (len(rows) x q) over the design.
        `scores` may also be factored (an object with `shape`, `unit_totals(units, n_units)` and
        `dense()`, as estimators/model_matrix.FactoredScores): its unit totals are then taken
        without forming the len(rows) x q matrix."""
        factored = hasattr(scores, "unit_totals")
        if factored and (self.calibrations or any(st.identity for st in self.stages)):
            scores, factored = scores.dense(), False
        if not factored:
            scores = np.asarray(scores, float)
            if scores.ndim == 1:
                scores = scores[:, None]
        if self.calibrations:
            # a weighted design keeps every row (R sets the weights outside a domain to zero): the
            # influence is spread over the whole sample by the weighting's residuals
            full = np.zeros((self.n, scores.shape[1]))
            full[rows] = scores
            for rec in self.calibrations:
                full = rec.residualize(full)
            rows, scores = slice(None), full
        lonely = (self.spec.lonely_psu, self.spec.adjust_domain_lonely)
        return _multistage(self.stages, 0, rows, scores, lonely, None)

    # ---- the Design protocol (protocol.py) ------------------------------------------------------

    def n_obs(self, rows) -> int:
        """Rows with a non-zero weight (R's nobs for the design effect)."""
        return self.nonzero(rows)

    def sample_degf(self) -> float:
        """Distinct PSUs minus strata over every row of the sample (R's degf as svychisq uses it)."""
        st = self.stages[0]
        return float(len(st.unit_stratum) - st.n_strata)

    def has_deff(self, statistic: str) -> bool:
        return True

    def svyvar_n(self, rows) -> int:
        return int(np.count_nonzero(self.weights))

    @property
    def domain_keeps_rows(self) -> bool:
        return bool(self.calibrations)

    def vcov(self, rows, theta, *, influence=None, reevaluate=None, what: str = "this statistic") -> np.ndarray:
        """Linearization: the covariance of the totals of the statistic's influence values."""
        if influence is None:
            raise missing_engine(what, "a replicate-weight design")
        scores = influence()
        if scores is None:  # no linearization exists at theta (e.g. a boundary estimate)
            q = len(np.atleast_1d(theta))
            return np.full((q, q), np.nan)
        return self.variance(rows, scores)

    def vcov_joint(self, pieces) -> np.ndarray:
        Q = sum(len(np.atleast_1d(p.theta)) for p in pieces)
        S = np.zeros((self.n, Q))
        j = 0
        for p in pieces:
            q = len(np.atleast_1d(p.theta))
            if p.influence is None:
                raise missing_engine("this estimate", "a replicate-weight design")
            s = p.influence()
            S[p.rows, j : j + q] = np.nan if s is None else np.asarray(s, float).reshape(-1, q)
            j += q
        return self.variance(slice(None), S)

    def influence_vcov(self, rows, scores: np.ndarray) -> np.ndarray:
        return self.variance(rows, scores)

    def reweight(self, step) -> TaylorDesign:
        weights, _, record = step(self.weights, None)
        return self.with_weights(weights, record)

    def replicate_columns(self) -> dict[str, np.ndarray]:
        return {}

    def describe(self) -> dict:
        st = self.stages[0]
        return {
            "kind": "taylor",
            "n": self.n,
            "df": self.degf(),
            "weights": self.spec.weights,
            "probs": self.spec.probs,
            "strata": self.spec.strata,
            "ids": list(self.spec.ids),
            "fpc": list(self.spec.fpc),
            "nest": self.spec.nest,
            "lonely_psu": self.spec.lonely_psu,
            "adjust_domain_lonely": self.spec.adjust_domain_lonely,
            "n_strata": int(st.n_strata),
            "n_psu": int(len(st.unit_stratum)),
            "sum_weights": self._sum_weights(),
            "weighting": [type(r).__name__.replace("Record", "").lower() for r in self.calibrations],
        }

    def _sum_weights(self) -> float:
        if "sum_weights" not in self._cache:
            self._cache["sum_weights"] = float(self.weights.sum())
        return self._cache["sum_weights"]


# ---- the variance engine ------------------------------------------------------------------------


def _multistage(stages, k, rows, scores, lonely, factor):
    st = stages[k]
    v = _onestage(st, rows, scores, lonely, k + 1, factor)
    if st.popsize is not None and k + 1 < len(stages):
        # later stages: within-unit variance times the sampling fraction n_h / N_h of this stage
        frac = st.n_units[st.unit_stratum] / st.popsize  # per unit of this stage
        f_next = frac if factor is None else frac * factor[st.unit_stratum]
        v = v + _multistage(stages, k + 1, rows, scores, lonely, f_next)
    return v


def _onestage(st: Stage, rows, scores, lonely_opts, stage_no, factor):
    """Sum over strata present among `rows` of the scaled cross-products of centred unit totals.

    `factor` (per stratum of this stage, i.e. per unit of the previous stage) multiplies each
    stratum's contribution: the product of the earlier stages' sampling fractions.
    `lonely_opts` is (R's survey.lonely.psu, R's survey.adjust.domain.lonely).

    As R's onestage/onestrat: with "average" a lonely stratum is left out and the others scaled by
    (strata present) / (strata not lonely).  At stage 2 and later R handles each unit of the stage
    before on its own (one stratum per call), so there is nothing to average over: a lonely unit
    there makes the variance NaN, as in R.  With adjust_domain_lonely a stratum where the domain
    lies in only one of its several units is treated as lonely too: "adjust" leaves it uncentred,
    "average" leaves it out (R's survey.adjust.domain.lonely = TRUE).
    """
    lonely, adjust_domain = lonely_opts
    q = scores.shape[1]
    n_u = len(st.unit_stratum)
    if st.identity:
        units = rows
        totals = np.zeros((n_u, q))
        totals[rows] = scores
    elif hasattr(scores, "unit_totals"):
        units = st.units[rows]
        totals = scores.unit_totals(units, n_u)
    else:
        units = st.units[rows]
        totals = np.empty((n_u, q))
        for j in range(q):
            totals[:, j] = np.bincount(units, weights=scores[:, j], minlength=n_u)
    if isinstance(rows, slice):
        present = st.n_units > 0  # the whole sample: every stratum
    else:
        present = np.bincount(st.strata[rows], minlength=st.n_strata) > 0
    nh = st.n_units.astype(float)
    # f = 1 - sampling fraction, per unit, as R's onestrat (inf popsize: no correction)
    if st.popsize is None:
        f_unit = np.ones(n_u)
    else:
        f_unit = np.where(np.isinf(st.popsize), 1.0, (st.popsize - nh[st.unit_stratum]) / st.popsize)
    # certainty strata (every unit sampled) contribute nothing at this stage
    f_max = np.zeros(st.n_strata)
    np.maximum.at(f_max, st.unit_stratum, f_unit)
    certain = f_max < 1e-7
    lonely_h = (st.n_units == 1) & present & ~certain
    if adjust_domain and not isinstance(rows, slice):
        # units of each stratum holding rows of the domain (R's nsubset)
        seen = np.bincount(rows if st.identity else st.units[rows], minlength=n_u) > 0
        nsub = np.bincount(st.unit_stratum[seen], minlength=st.n_strata)
        domain_lonely = (nsub == 1) & (st.n_units > 1) & present & ~certain
    else:
        domain_lonely = np.zeros(st.n_strata, dtype=bool)
    if lonely_h.any() and lonely == "fail":
        h = int(np.flatnonzero(lonely_h)[0])
        label = _label(st.labels[h])
        raise LonelyPSUError(
            f"stratum {label} has only one PSU at stage {stage_no}; choose a lonely-PSU "
            "policy ({lonely_psu} remove|adjust|average|certainty) or merge strata",
            param="lonely_psu",
        )
    us = st.unit_stratum
    sums = np.zeros((st.n_strata, q))
    for j in range(q):
        sums[:, j] = np.bincount(us, weights=totals[:, j], minlength=st.n_strata)
    means = sums / nh[:, None]
    center = ~((lonely_h | domain_lonely) & (lonely == "adjust"))
    dev = totals - np.where(center[us, None], means[us], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_h = np.where(st.n_units > 1, nh / (nh - 1), 1.0)
    scale = f_unit * scale_h[us]
    keep = present & ~certain
    if lonely == "average":
        keep &= ~(lonely_h | domain_lonely)
    if factor is not None:
        scale = scale * factor[us]
    scale = np.where(keep[us], scale, 0.0)
    d = dev * np.sqrt(scale)[:, None]
    v = d.T @ d
    if lonely == "average":
        nstrat = int(present.sum())
        nok = int((present & ~(lonely_h | domain_lonely)).sum())
        if stage_no > 1:
            v = v * np.nan if nok < nstrat else v  # R: one stratum per call at later stages
        else:
            v = v * (nstrat / nok) if nok else v * np.nan
    return v


# ---- helpers ------------------------------------------------------------------------------------


def _group_column(frame: pl.DataFrame, name: str, role: str) -> np.ndarray | pl.Series:
    s = require_column(frame, name, role)
    if s.null_count():
        raise DesignError(f"{role} column '{name}' has {s.null_count()} missing value(s); every row needs one")
    return column_array(frame, name)


def _check_nested(u_codes, s_codes, n_u):
    first = np.full(n_u, -1, np.int64)
    first[u_codes] = s_codes
    if (first[u_codes] != s_codes).any():
        raise DesignError(
            "clusters are not nested in strata at the first stage (the same PSU id appears "
            "in several strata); use {nest} if PSU ids are only unique within strata",
            param="nest",
        )


def _fpc_kind(fpcs, names) -> bool:
    """Whether the fpc columns hold population sizes (True) or sampling fractions (False), decided
    over all of them together as R's as.fpc does: sizes when any value is > 1 (then all must be
    >= 1), fractions when all are <= 1 (then a column of 1s is a take-all stage).  All 1s is refused,
    as R refuses it."""
    for fpc, name in zip(fpcs, names):
        if (fpc < 0).any() or not np.isfinite(fpc).all():
            raise DesignError(f"fpc column '{name}' must hold positive population sizes or fractions")
    big = [name for fpc, name in zip(fpcs, names) if (fpc > 1).any()]
    small = [name for fpc, name in zip(fpcs, names) if (fpc < 1).any()]
    if big and small:
        where = f"column '{big[0]}' mixes" if big[0] == small[0] else f"columns '{big[0]}' and '{small[0]}' mix"
        raise DesignError(
            f"fpc {where} population sizes (> 1) and sampling fractions (< 1): "
            "give every stage as sizes or every stage as fractions"
        )
    if not big and not small:
        raise DesignError(
            f"fpc column '{names[0]}' is 1 everywhere: neither population sizes nor sampling fractions "
            "(R refuses it too); give the population sizes, or fractions with a stage below 1"
        )
    return bool(big)


def _popsize(fpc, u_codes, unit_stratum, n_units, name, k, labels, is_size):
    """Population size per unit from an fpc column of sizes or fractions (`is_size`, _fpc_kind)."""
    unit_fpc = np.empty(len(unit_stratum))
    unit_fpc[u_codes] = fpc
    nh = n_units[unit_stratum].astype(float)
    with np.errstate(divide="ignore"):
        popsize = unit_fpc if is_size else nh / unit_fpc
    bad = popsize < nh
    if bad.any():
        u = int(np.flatnonzero(bad)[0])
        h = unit_stratum[u]
        raise DesignError(
            f"fpc column '{name}' at stage {k + 1} implies more than 100% sampling in stratum "
            f"{_label(labels[h])}: population {popsize[u]:g} < {int(nh[u])} sampled units; "
            "give population sizes >= the sample size, or fractions <= 1"
        )
    return popsize


def _n_distinct(codes: np.ndarray, size: int) -> int:
    return int(np.count_nonzero(np.bincount(codes, minlength=size)))


def _label(t: tuple) -> str:
    return "'" + ".".join(str(x) for x in t) + "'"


DESIGN_KINDS["taylor"] = TaylorDesign.from_spec
