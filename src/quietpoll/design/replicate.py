"""Replicate-weight designs (R's svrepdesign): JK1, JKn, BRR, Fay, bootstrap, SDR, ACS, other (the
registry REPLICATE_TYPES, builders.py, says how each sets scale and rscales).

A statistic is re-evaluated under every replicate weight column; with statistics that are smooth
functions of weighted totals this is one matrix product per domain (W[rows].T @ Y). The variance is
scale * sum_r rscales_r (theta_r - centre)^2 with the centre the replicates' mean, or the full-sample
estimate when mse is set (R's svrVar).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ..errors import DesignError
from .base import Weightable, design_weights, missing_engine
from .builders import REPLICATE_TYPES
from .repweights import RepWeights
from .spec import DESIGN_KINDS, DesignSpec, ReplicateSpec


__all__ = ["REPLICATE_TYPES", "ReplicateDesign", "replicate_scales"]


@dataclass(frozen=True, eq=False)
class ReplicateDesign(Weightable):
    """A sample analysed with replicate weights."""

    data: pl.DataFrame
    weights: np.ndarray  # (n,) full-sample weights
    repweights: RepWeights  # (n, R) combined replicate weights (full-sample weight included)
    scale: float
    rscales: np.ndarray  # (R,)
    type: str
    mse: bool
    rho: float | None
    spec: DesignSpec
    rep_columns: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict, repr=False)

    kind = "replicate"

    @property
    def n(self) -> int:
        return self.data.height

    @property
    def n_replicates(self) -> int:
        return self.repweights.R

    @classmethod
    def from_spec(cls, data: pl.DataFrame, spec: DesignSpec) -> ReplicateDesign:
        rs = spec.replicates
        assert rs is not None
        if data.height == 0:
            raise DesignError("the data have no rows")
        cols = rs.resolve_columns(data)
        own = [c for c in cols if c in (spec.weights, spec.probs)]
        if own:  # a glob such as '*w*' also matches the full-sample weights: never a replicate
            import warnings

            warnings.warn(
                f"replicate weights: '{own[0]}' matches the replicate-weight pattern but is the full-sample "
                "weight column; it is not used as a replicate",
                stacklevel=2,
            )
            cols = [c for c in cols if c not in own]
            if not cols:
                raise DesignError(
                    "replicate weights: the pattern matches only the full-sample weights", param="replicates"
                )
        schema = data.schema  # built once: polars makes a new Schema of every column at each access
        bad = [c for c in cols if not schema[c].is_numeric()]
        if bad:
            raise DesignError(f"replicate weight column '{bad[0]}' is not numeric")
        w = design_weights(data, spec.weights, spec.probs)
        for c in cols:
            if data.get_column(c).null_count():
                raise DesignError(f"replicate weight column '{c}' has missing values")

        def read(j: int) -> np.ndarray:
            # one column copied out of the frame when the pass reaches it, dropped after (the
            # replicate weights are never copied as one block)
            a = data.get_column(cols[j]).cast(pl.Float64).to_numpy()
            return a if rs.combined_weights else a * w

        def read_rows(rows: np.ndarray) -> np.ndarray:
            a = data[cols].gather(rows).to_numpy().astype(float, copy=False)
            return a if rs.combined_weights else a * w[rows, None]

        def check(j: int, low: float) -> None:
            if not low >= 0:  # NaN if any value is NaN: one pass checks both
                what = "missing values" if np.isnan(low) else "negative values"
                raise DesignError(f"replicate weight column '{cols[j]}' has {what}")

        scale, rscales = replicate_scales(rs, len(cols))
        rep = RepWeights.from_source(len(cols), read, w, read_rows=read_rows, on_column=check)
        return cls(
            data=data,
            weights=w,
            repweights=rep,
            scale=scale,
            rscales=rscales,
            type=rs.type,
            mse=rs.mse,
            rho=rs.rho,
            spec=spec,
            rep_columns=tuple(cols),
        )

    @classmethod
    def from_arrays(
        cls,
        data: pl.DataFrame,
        weights: np.ndarray,
        repweights: np.ndarray,
        *,
        type: str,
        scale: float,
        rscales: np.ndarray,
        mse: bool = False,
        rho: float | None = None,
        spec: DesignSpec | None = None,
        rep_columns: tuple[str, ...] = (),
    ) -> ReplicateDesign:
        R = repweights.shape[1]
        rep = RepWeights.from_dense(repweights, np.asarray(weights, float))
        rsp = ReplicateSpec(
            columns=(), type=type, rho=rho, scale=scale, rscales=tuple(np.broadcast_to(rscales, R)), mse=mse
        )
        base = spec or DesignSpec()
        spec = DesignSpec(weights=base.weights, probs=base.probs, lonely_psu=base.lonely_psu, replicates=rsp)
        return cls(
            data=data,
            weights=np.asarray(weights, float),
            repweights=rep,
            scale=float(scale),
            rscales=np.broadcast_to(np.asarray(rscales, float), (R,)).copy(),
            type=type,
            mse=mse,
            rho=rho,
            spec=spec,
            rep_columns=tuple(rep_columns),
        )

    # ---- what estimators call -------------------------------------------------------------------

    def rep_matrix(self, rows) -> np.ndarray:
        return self.repweights.rows(rows)

    def replicate_totals(self, rows, Y: np.ndarray) -> np.ndarray:
        """(R, m) weighted totals of the columns of Y (len(rows) x m) under each replicate."""
        return self.repweights.totals(rows, Y)

    def replicate_cross_totals(self, rows, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X' diag(w_r) X (R, k, k) and X' diag(w_r) y (R, k) over `rows` under each replicate (a
        weighted least-squares system per replicate; rows may be a slice)."""
        return self.repweights.cross_totals(rows, X, y)

    def rep_variance(self, thetas: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """R's svrVar: thetas (R, q) replicate estimates, coef (q,) full-sample estimates."""
        thetas = np.asarray(thetas, float)
        if thetas.ndim == 1:
            thetas = thetas[:, None]
        ok = ~np.isnan(thetas).any(axis=1)
        th, rsc = thetas[ok], self.rscales[ok]
        if len(th) == 0:
            return np.full((thetas.shape[1], thetas.shape[1]), np.nan)
        centre = np.asarray(coef, float) if self.mse else th[rsc > 0].mean(axis=0)
        d = (th - centre) * np.sqrt(rsc)[:, None]
        return (d.T @ d) * self.scale

    def degf(self, rows=None) -> float:
        """R's degf for replicate designs: rank of the replicate weights (of the rows) minus one."""
        W = self.repweights
        if "rank" not in self._cache:
            if W.compressed:
                self._cache["rank"] = _rank_gram(W.gram(slice(None)), 1e-5)
            else:
                self._cache["rank"] = (_rank(W, slice(None)), 0.0)
        full, worst = self._cache["rank"]
        if rows is None or isinstance(rows, slice):
            return float(full - 1)
        if W.compressed and worst > 1e-2:
            # W[rows] is diag(scale) F[unit[rows]]: if every pattern the whole sample uses occurs
            # among the rows, its rows span the same space, and the rank is the clearly full one
            factors, unit, _ = W.compressed_parts()
            seen = np.bincount(unit[rows], minlength=factors.shape[0]) > 0
            if seen[self._used_patterns()].all():
                return float(full - 1)
        return float(_rank(W, rows) - 1)

    def _used_patterns(self) -> np.ndarray:
        if "used" not in self._cache:
            W = self.repweights
            factors, unit, rowscale = W.compressed_parts()
            used = np.bincount(unit, weights=rowscale**2, minlength=factors.shape[0]) > 0
            self._cache["used"] = used
        return self._cache["used"]

    # ---- the Design protocol (protocol.py) ------------------------------------------------------

    def n_obs(self, rows) -> int:
        """Every row of the domain (R's nobs for a replicate design's design effect)."""
        return self.n if isinstance(rows, slice) else len(rows)

    def sample_degf(self) -> float:
        return float(self.degf())

    def svyvar_n(self, rows) -> int:
        return self.n if isinstance(rows, slice) else len(rows)

    def has_deff(self, statistic: str) -> bool:
        # R's svyratio has no design effect for replicate designs
        return statistic != "ratio"

    @property
    def domain_keeps_rows(self) -> bool:
        return False

    def vcov(self, rows, theta, *, influence=None, reevaluate=None, what: str = "this statistic") -> np.ndarray:
        """Re-evaluation: the statistic under every replicate, through R's svrVar."""
        if reevaluate is None:
            raise missing_engine(what, "a design with influence values (strata, clusters)")
        thetas = reevaluate(self)
        with np.errstate(invalid="ignore"):
            return self.rep_variance(thetas, np.atleast_1d(np.asarray(theta, float)))

    def vcov_joint(self, pieces) -> np.ndarray:
        thetas, coef = [], []
        for p in pieces:
            if p.reevaluate is None:
                raise missing_engine("this estimate", "a design with influence values (strata, clusters)")
            t = np.asarray(p.reevaluate(self), float)
            thetas.append(t.reshape(len(t), -1))
            coef.append(np.atleast_1d(np.asarray(p.theta, float)))
        with np.errstate(invalid="ignore"):
            return self.rep_variance(np.hstack(thetas), np.concatenate(coef))

    def influence_vcov(self, rows, scores: np.ndarray) -> None:
        return None

    def reweight(self, step) -> ReplicateDesign:
        """Every replicate weight column weighted again by the same step (R's methods for svyrep)."""
        weights, replicates, _ = step(self.weights, self.repweights.rows(slice(None)))
        return ReplicateDesign.from_arrays(
            self.data,
            weights,
            replicates,
            type=self.type,
            scale=self.scale,
            rscales=self.rscales,
            mse=self.mse,
            rho=self.rho,
            spec=self.spec,
            rep_columns=self.rep_columns,
        )

    def replicate_columns(self) -> dict[str, np.ndarray]:
        if not self.rep_columns:
            return {}
        W = self.repweights.rows(slice(None))
        return {c: W[:, j] for j, c in enumerate(self.rep_columns)}

    def describe(self) -> dict:
        return {
            "kind": "replicate",
            "n": self.n,
            "df": self.degf(),
            "weights": self.spec.weights,
            "type": self.type,
            "replicates": self.n_replicates,
            "scale": self.scale,
            "rscales": sorted(set(np.round(self.rscales, 12).tolist()))[:5],
            "mse": self.mse,
            "rho": self.rho,
            "sum_weights": float(self.weights.sum()),
        }


DESIGN_KINDS["replicate"] = ReplicateDesign.from_spec


def replicate_scales(rs: ReplicateSpec, R: int) -> tuple[float, np.ndarray]:
    """scale and rscales as R's svrepdesign sets them for each type (combined weights)."""
    t = rs.type
    scales = REPLICATE_TYPES[t].scales
    if scales is None:  # pragma: no cover - ReplicateSpec accepts only types with scales
        raise DesignError(f"replicate type '{t}' cannot be given as replicate weight columns")
    if R < 2:
        raise DesignError("a replicate design needs at least two replicate weight columns")
    rscales = None if rs.rscales is None else np.asarray(rs.rscales, float)
    if rscales is not None and len(rscales) not in (1, R):
        raise DesignError(
            f"{{rscales}} has {len(rscales)} values; give one, or one per replicate ({R})", param="rscales"
        )
    scale, rscales = scales(rs.scale, rscales, rs.rho, R)
    ignored = []  # what the type fixes itself: said, never silently dropped
    if rs.scale is not None and (scale is None or not np.isclose(scale, rs.scale)):
        ignored.append(f"scale {rs.scale:g} (type {t} sets it{'' if scale is None else f' to {scale:g}'})")
    if rs.rho is not None and not REPLICATE_TYPES[t].half_sample:
        ignored.append(f"rho {rs.rho:g} (a Fay coefficient; type {t} has none)")
    if ignored:
        import warnings

        warnings.warn(f"replicate weights: {' and '.join(ignored)} ignored, as R's svrepdesign", stacklevel=2)
    if scale is None:
        scale = 1.0
    if rscales is None:
        rscales = np.ones(R)
    return float(scale), np.broadcast_to(rscales, (R,)).astype(float)


def _rank(W: RepWeights, rows, tol: float = 1e-5) -> int:
    """Rank of W[rows] as R's qr(tol = 1e-5) finds it (columns in order; a column whose residual norm
    is below tol times its own norm is set aside), computed on the Gram matrix.

    Shortcut for tall dense matrices: the rank is at most R and at least the rank of any subset of
    rows; if an evenly spaced subset of 4R rows already has full rank with every column's relative
    residual above 1e-2 (a thousand times the tolerance), that is the answer."""
    n = W.n if isinstance(rows, slice) else len(rows)
    R = W.R
    if not W.compressed and n > 16 * R:
        idx = np.unique(np.linspace(0, n - 1, 4 * R).astype(np.int64))
        sub = idx if isinstance(rows, slice) else rows[idx]
        r, worst = _rank_gram(W.gram(sub), tol)
        if r == R and worst > 1e-2:
            return R
    return _rank_gram(W.gram(rows), tol)[0]


def _rank_gram(G: np.ndarray, tol: float) -> tuple[int, float]:
    """Sequential (unpivoted) rank from a Gram matrix; also the smallest relative residual norm of
    the accepted columns."""
    R = G.shape[0]
    L = np.zeros((R, R))
    accepted: list[int] = []
    worst = np.inf
    for j in range(R):
        norm2 = G[j, j]
        if norm2 <= 0:
            continue
        a = np.asarray(accepted, dtype=np.int64)
        resid = norm2 - (L[j, a] @ L[j, a] if len(a) else 0.0)
        if resid <= (tol**2) * norm2:
            continue
        worst = min(worst, float(np.sqrt(resid / norm2)))
        d = np.sqrt(resid)
        L[j + 1 :, j] = (G[j + 1 :, j] - (L[j + 1 :, a] @ L[j, a] if len(a) else 0.0)) / d
        L[j, j] = d
        accepted.append(j)
    return len(accepted), worst
