"""What a Taylor design remembers of its weighting, so that standard errors reflect it.

R's survey package keeps the same three kinds of record (`design$postStrata`) and `svyrecvar`
replaces the influence values by their residuals before aggregating them to PSU totals:

- post-stratification: u - psw * (sum_cell u * oldw / psw) / (sum_cell oldw), per cell;
- raking: ten sweeps over the margins of u - psw * (unweighted cell mean of u / psw);
- linear, raking-ratio or logit calibration (GREG): w * (residual of u / w regressed on X sqrt(w0)),
  with w = g sqrt(w0) and the regression done once with a pivoted QR of X sqrt(w0).

Each record works on full-length influence arrays (n rows x q statistics): after weighting a domain's
influence reaches every row through the residuals, which is why calibrated designs keep all rows.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass, field

import numpy as np

from ..codes import gather


@dataclass(frozen=True, eq=False)
class PostStratRecord:
    cells: np.ndarray  # (n,) cell code
    weights: np.ndarray  # (n,) weights after post-stratification
    oldweights: np.ndarray  # (n,) weights before

    def residualize(self, u: np.ndarray) -> np.ndarray:
        psw = np.where((self.weights == 0) & (self.oldweights == 0), 1.0, self.weights)
        K = int(self.cells.max()) + 1 if len(self.cells) else 0
        old_tot = np.bincount(self.cells, weights=self.oldweights, minlength=K)
        ratio = self.oldweights / psw
        out = np.empty_like(u)
        for j in range(u.shape[1]):
            with np.errstate(divide="ignore", invalid="ignore"):
                means = np.bincount(self.cells, weights=u[:, j] * ratio, minlength=K) / old_tot
            out[:, j] = u[:, j] - means[self.cells] * psw
        return out


@dataclass(frozen=True, eq=False)
class RakingRecord:
    """Raking's record, kept small: each row's joint cell and, per joint cell, the factor of every
    margin's step in the last sweep; the (n,) weights after each step are made only when a standard
    error needs them."""

    margins: tuple[np.ndarray, ...]  # (n,) cell code per margin
    joint: np.ndarray  # (n,) cell of the joint cross-classification of the margins
    factors: tuple[np.ndarray, ...]  # per joint cell: weight after that margin's step / base weight
    base: np.ndarray  # (n,) weights before raking
    sweeps: int = 10

    @classmethod
    def from_result(cls, codes, res) -> RakingRecord:
        return cls(tuple(codes), res.joint, tuple(res.factors), res.base_weights)

    @functools.cached_property
    def weights(self) -> tuple[np.ndarray, ...]:
        """(n,) weights after each margin's step in the last sweep (made once, when a standard error
        first needs them)."""
        return tuple(self.base * gather(f, self.joint) for f in self.factors)

    @functools.cached_property
    def _counts(self) -> tuple[np.ndarray, ...]:
        return tuple(np.bincount(m) for m in self.margins)

    def residualize(self, u: np.ndarray) -> np.ndarray:
        """Raking's residuals of the (n, k) influence values u: every column in one bincount per margin
        and sweep (cell c of column j is bin c + ncells * j; each bin adds its rows in row order, as a
        bincount of that column alone does)."""
        u = u.copy()
        k = u.shape[1]
        for _ in range(self.sweeps):
            for cells, psw, cnt in zip(self.margins, self.weights, self._counts):
                ncell = len(cnt)
                bins = (cells[:, None] + ncell * np.arange(k)).ravel()
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = u / psw[:, None]
                    sums = np.bincount(bins, weights=x.ravel(), minlength=ncell * k).reshape(k, ncell)
                    means = sums / cnt
                u -= psw[:, None] * means.T[cells]
        return u


@dataclass(frozen=True, eq=False)
class GregRecord:
    """Calibration residuals; the QR of X sqrt(w0) is computed on first use (only standard errors
    need it), once."""

    X: np.ndarray  # (n, p) calibration model matrix
    w0: np.ndarray  # (n,) weights before calibration
    g: np.ndarray  # (n,) g-weights: calibrated weights / w0
    _basis: list = field(default_factory=list, repr=False)

    @classmethod
    def from_fit(cls, X: np.ndarray, w0: np.ndarray, g: np.ndarray) -> GregRecord:
        return cls(X=X, w0=w0, g=g)

    @property
    def w(self) -> np.ndarray:
        """(n,) g * sqrt(w0), made when a standard error needs it."""
        return self.g * np.sqrt(self.w0)

    @property
    def basis(self) -> np.ndarray:
        """(n, r) orthonormal basis of the columns of X sqrt(w0), r its rank (R's qr, tol 1e-7)."""
        if not self._basis:
            from scipy import linalg  # only standard errors need it: not loaded for weighting alone

            X = self.X.dense() if hasattr(self.X, "dense") else self.X
            Q, R, _ = linalg.qr(X * np.sqrt(self.w0)[:, None], mode="economic", pivoting=True)
            d = np.abs(np.diag(R))
            rank = int(np.sum(d > 1e-7 * d[0])) if len(d) and d[0] > 0 else 0
            self._basis.append(np.ascontiguousarray(Q[:, :rank]))
        return self._basis[0]

    def residualize(self, u: np.ndarray) -> np.ndarray:
        w = self.w
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(w[:, None] != 0, u / w[:, None], 0.0)
        B = self.basis
        r = r - B @ (B.T @ r)
        return r * w[:, None]
