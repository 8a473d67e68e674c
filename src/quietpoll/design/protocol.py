"""The Design protocol: the few operations every estimator and weighting method uses.

An estimator is written once against these and never asks which kind of design it holds. Each
design kind implements them with its own variance engine, as R's survey package has one method per
design class behind each generic:

- ``TaylorDesign`` (R's svydesign, also after postStratify / rake / calibrate) takes the
  statistic's influence values and sums them through strata and clusters (R's svyrecvar);
- ``ReplicateDesign`` (R's svrepdesign) re-evaluates the statistic under every replicate weight
  column (R's svrVar).

A statistic therefore hands :meth:`Design.vcov` both ways of measuring it: ``influence`` (a
callable returning the weighted influence values of the analysis-domain rows, only called by
linearization designs) and ``reevaluate`` (a callable given the design's :class:`Replicates` view
and returning the statistic under every replicate, only called by replicate designs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import polars as pl

#: rows of an analysis domain: an index array, or ``slice(None)`` for the whole sample
Rows = Any

#: a weighting step for :meth:`Design.reweight`: (weights (n,), replicate weights (n, R) or None)
#: -> (new weights, new replicate weights or None, weighting record or None)
Reweighting = Callable[[np.ndarray, "np.ndarray | None"], tuple[np.ndarray, "np.ndarray | None", Any]]


@dataclass(frozen=True, eq=False)
class Piece:
    """One domain's estimates (q,) with both ways of measuring them, as :meth:`Design.vcov` takes
    them; kept on a result so that :meth:`Design.vcov_joint` can give the covariance of the
    estimates of several domains and variables together (R's svyby(covmat = TRUE))."""

    rows: Rows
    theta: np.ndarray
    influence: Callable[[], np.ndarray | None] | None = None
    reevaluate: Callable[[Replicates], np.ndarray] | None = None


class Replicates(Protocol):
    """What ``reevaluate`` callables receive: the replicate weights of a design."""

    n_replicates: int

    def replicate_totals(self, rows: Rows, Y: np.ndarray) -> np.ndarray:
        """(R, m) weighted totals of the columns of Y (len(rows) x m) under each replicate."""
        ...

    def rep_matrix(self, rows: Rows) -> np.ndarray:
        """(len(rows), R) replicate weights of the rows."""
        ...

    def replicate_cross_totals(self, rows: Rows, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X' diag(w_r) X (R, k, k) and X' diag(w_r) y (R, k) over the rows, for every replicate r."""
        ...


class Design(Protocol):
    """A survey design as estimators and weighting methods see it."""

    data: pl.DataFrame
    weights: np.ndarray

    @property
    def n(self) -> int: ...

    def degf(self, rows: Rows | None = None) -> float:
        """Design degrees of freedom of the rows with weight (R's degf)."""
        ...

    def sample_degf(self) -> float:
        """Degrees of freedom of the whole sample, zero-weight rows included (svychisq's df)."""
        ...

    def n_obs(self, rows: Rows) -> int:
        """Rows counted for a design effect's simple-random-sampling variance (R's nobs)."""
        ...

    def svyvar_n(self, rows: Rows) -> int:
        """The n of R's svyvar for the observed rows (its n/(n-1) factor): R counts every row with
        weight on a linearized design (missing values included) and the observed rows on a replicate
        design."""
        ...

    def has_deff(self, statistic: str) -> bool:
        """Whether R reports a design effect for `statistic` on this kind of design."""
        ...

    @property
    def domain_keeps_rows(self) -> bool:
        """True when rows outside a domain still carry the variance (weighting records use every
        row), so a domain's weights are rescaled over all n rows, as R does."""
        ...

    def vcov(
        self,
        rows: Rows,
        theta: np.ndarray,
        *,
        influence: Callable[[], np.ndarray | None] | None = None,
        reevaluate: Callable[[Replicates], np.ndarray] | None = None,
        what: str = "this statistic",
    ) -> np.ndarray:
        """(q, q) covariance of the estimates theta (q,) of the rows of one analysis domain.

        ``influence()`` returns (len(rows), q) weighted influence values (None: no linearization
        exists at theta, the covariance is NaN); ``reevaluate(replicates)`` returns (R, q)
        estimates under each replicate (NaN rows: replicates that give none). A design that needs
        the one not given raises EstimationError naming `what`."""
        ...

    def vcov_joint(self, pieces: Sequence[Piece]) -> np.ndarray:
        """(Q, Q) covariance of the estimates of all pieces together (Q their total length): the
        influence values of each scattered over the whole sample and summed at once, or the
        replicate estimates side by side."""
        ...

    def influence_vcov(self, rows: Rows, scores: np.ndarray) -> np.ndarray | None:
        """Covariance of the totals of fixed influence values when this design's variance is a
        function of them (linearization: lets a closed-form shortcut reuse one pass), else None."""
        ...

    def reweight(self, step: Reweighting) -> Design:
        """A new design with the weights (and replicate weights, if any) that `step` returns."""
        ...

    def replicate_columns(self) -> dict[str, np.ndarray]:
        """Data columns this design's weights replace when written out (recalibrated replicate
        weights under their original names); empty when it has none."""
        ...

    def describe(self) -> dict: ...
