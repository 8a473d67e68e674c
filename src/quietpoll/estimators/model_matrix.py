"""A model matrix kept as its terms (formula_fast.py builds it from formulaic's structure) instead
of a dense n x p array: numeric columns, and blocks of indicator columns (a factor's treatment-coded
dummies, possibly times numeric columns) stored as one code per row.

What a GLM needs of X is then one `bincount` per block instead of a pass over p dense columns:
X @ b, X' v, the weighted cross-products [X z]'W[X z] of a least-squares step, and the totals of
X_i e_i by sampling unit that a linearization design sums (`FactoredScores`). `dense()` gives the
ordinary Fortran-ordered matrix (built once, cached) for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Num:
    """Column j: `values` (None: a column of ones, the intercept)."""

    j: int
    values: np.ndarray | None


@dataclass(frozen=True, eq=False)
class Ind:
    """Columns j .. j + width - 1: row i holds `values[i]` (None: 1) in column j + code[i] - 1,
    nothing when code[i] == 0 (a reference level)."""

    j: int
    width: int
    code: np.ndarray  # (n,) intp in 0..width
    values: np.ndarray | None


@dataclass(frozen=True, eq=False)
class StructuredX:
    n: int
    p: int
    blocks: tuple[Num | Ind, ...]
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.p)

    def dense(self) -> np.ndarray:
        """The (n, p) matrix in Fortran order (cached)."""
        if "dense" not in self._cache:
            X = np.zeros((self.n, self.p), order="F")
            XT = X.T  # C-contiguous (p, n): row j is column j of X
            for b in self.blocks:
                if isinstance(b, Num):
                    XT[b.j] = 1.0 if b.values is None else b.values
                    continue
                r = np.flatnonzero(b.code)
                flat = XT.reshape(-1)
                flat[(b.j - 1 + b.code[r]) * self.n + r] = 1.0 if b.values is None else b.values[r]
            self._cache["dense"] = X
        return self._cache["dense"]

    def take(self, rows: np.ndarray) -> StructuredX:
        """The rows `rows` (indices or a boolean mask)."""
        blocks = tuple(
            Num(b.j, None if b.values is None else b.values[rows])
            if isinstance(b, Num)
            else Ind(b.j, b.width, b.code[rows], None if b.values is None else b.values[rows])
            for b in self.blocks
        )
        n = int(rows.sum()) if rows.dtype == bool else len(rows)
        return StructuredX(n, self.p, blocks)

    def __matmul__(self, beta: np.ndarray) -> np.ndarray:
        beta = np.asarray(beta, float)
        out: np.ndarray | None = None
        tmp: np.ndarray | None = None  # one scratch column for every block's term
        for b in self.blocks:
            if out is None:  # the first block's term is the sum so far
                if isinstance(b, Num):
                    out = np.full(self.n, beta[b.j]) if b.values is None else beta[b.j] * b.values
                else:
                    out = self._ind_term(b, beta, None)
                continue
            if tmp is None:
                tmp = np.empty(self.n)
            if isinstance(b, Ind):
                out += self._ind_term(b, beta, tmp)
            elif b.values is None:
                out += beta[b.j]
            else:
                out += np.multiply(b.values, beta[b.j], out=tmp)
        return np.zeros(self.n) if out is None else out

    @staticmethod
    def _ind_term(b: Ind, beta: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """An indicator block's part of X @ beta (into `out` when given)."""
        ext = np.concatenate([[0.0], beta[b.j : b.j + b.width]])
        # codes are 0..width by construction: "clip" spares numpy the bounds check and, with `out`,
        # the buffered copy that mode "raise" makes
        t = np.take(ext, b.code, out=out, mode="clip")
        if b.values is not None:
            t *= b.values
        return t

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        """X' v (p,)."""
        out = np.empty(self.p)
        for b in self.blocks:
            if isinstance(b, Num):
                out[b.j] = v.sum() if b.values is None else np.dot(b.values, v)
            else:
                wv = v if b.values is None else v * b.values
                out[b.j : b.j + b.width] = np.bincount(b.code, weights=wv, minlength=b.width + 1)[1:]
        return out

    def gram(self, ww: np.ndarray, z: np.ndarray) -> np.ndarray:
        """[X z]' diag(ww) [X z], (p + 1, p + 1)."""
        p = self.p
        C = np.zeros((p + 1, p + 1))
        nums = [b for b in self.blocks if isinstance(b, Num)] + [Num(p, z)]
        inds = [b for b in self.blocks if isinstance(b, Ind)]
        wn = [ww if b.values is None else ww * b.values for b in nums]
        plain: dict[int, np.ndarray] = {}  # the bincount of ww by an indicator block's codes, once
        for a, (ba, wa) in enumerate(zip(nums, wn)):
            for bb in nums[a:]:
                C[ba.j, bb.j] = wa.sum() if bb.values is None else np.dot(wa, bb.values)
            for i, bi in enumerate(inds):
                w = wa if bi.values is None else wa * bi.values
                t = np.bincount(bi.code, weights=w, minlength=bi.width + 1)
                if ba.values is None and bi.values is None:
                    plain[i] = t
                C[ba.j, bi.j : bi.j + bi.width] = t[1:]
        for a, ia in enumerate(inds):
            wi = ww if ia.values is None else ww * ia.values
            sa = slice(ia.j, ia.j + ia.width)
            if ia.values is None and a in plain:  # the same bincount as the intercept's row
                d = plain[a]
            else:
                d = np.bincount(ia.code, weights=wi if ia.values is None else wi * ia.values, minlength=ia.width + 1)
            C[sa, sa] = np.diag(d[1:])
            for ib in inds[a + 1 :]:
                w = wi if ib.values is None else wi * ib.values
                k = ib.width + 1
                t = np.bincount(ia.code * k + ib.code, weights=w, minlength=(ia.width + 1) * k)
                C[sa, ib.j : ib.j + ib.width] = t.reshape(ia.width + 1, k)[1:, 1:]
        # every off-diagonal pair was written once, on one side or the other: fold it
        return C + C.T - np.diag(np.diag(C))


@dataclass(frozen=True, eq=False)
class FactoredScores:
    """Influence values X_i e_i of a GLM (n x p) without forming them: their totals by unit are
    one bincount per block of X (what TaylorDesign's variance engine asks of them)."""

    X: StructuredX
    e: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.X.shape

    def dense(self) -> np.ndarray:
        S = np.empty(self.X.shape, order="F")
        np.multiply(self.X.dense(), self.e[:, None], out=S)
        return S

    def unit_totals(self, units: np.ndarray, n_units: int) -> np.ndarray:
        """(n_units, p): the totals of X_i e_i over the rows of each unit."""
        out = np.empty((n_units, self.X.p))
        for b in self.X.blocks:
            w = self.e if b.values is None else self.e * b.values
            if isinstance(b, Num):
                out[:, b.j] = np.bincount(units, weights=w, minlength=n_units)
            else:
                k = b.width + 1
                t = np.bincount(units * k + b.code, weights=w, minlength=n_units * k)
                out[:, b.j : b.j + b.width] = t.reshape(n_units, k)[:, 1:]
        return out
