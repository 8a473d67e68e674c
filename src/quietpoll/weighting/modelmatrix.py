"""The calibration model matrix without the matrix.

R's model.matrix(~ a + b + x) for calibration is an intercept, 0/1 dummies for the levels of each
categorical margin (the first level dropped) and numeric columns. Stored densely that is n x p
floats (200 MB for a million rows and 25 columns) of which almost all are zeros. Here the
categorical part is kept as each row's cell of the joint cross-classification of the margins (one
small integer per row) and each margin's level of every cell (a few thousand cells at most in
practice), so every product the calibration needs is one bincount or one gather over the rows and
then bincounts over the cells:

    X @ lam        (per-cell sum of the lam of the cell's levels)[cell of each row] + numeric columns @ lam
    X.T @ v        per-level sums of the per-cell sums of v + numeric columns @ v
    X' diag(w) X   from the per-cell sums of w: per-level and per-pair-of-levels sums; with w * x for
                   the numeric columns' cross terms

The dense matrix is made only when asked for (the QR behind standard errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..codes import combine_codes, gather, joint_sums


@dataclass(frozen=True, eq=False)
class ModelMatrix:
    n: int
    cats: tuple[tuple[np.ndarray, int], ...]  # (codes: -1 for no level, else 0..k-1; k) per margin
    nums: tuple[np.ndarray, ...]  # numeric columns
    _dense: list = field(default_factory=list, repr=False)
    _cells: list = field(default_factory=list, repr=False)

    @property
    def offsets(self) -> list[int]:
        out, j = [], 1
        for _, k in self.cats:
            out.append(j)
            j += k - 1
        return out

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self._pc + len(self.nums)

    @property
    def _pc(self) -> int:
        """Columns of the intercept and the categorical dummies."""
        return 1 + sum(k - 1 for _, k in self.cats)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def T(self) -> _Transposed:
        return _Transposed(self)

    def cells(self) -> tuple[np.ndarray | None, tuple[np.ndarray, ...]]:
        """(each row's joint cell, each margin's level code of every cell); made once. Without
        categorical margins there is one cell and no joint code."""
        if not self._cells:
            if not self.cats:
                self._cells.append((None, ()))
            else:
                joint, digits = combine_codes([c for c, _ in self.cats], [k for _, k in self.cats])
                self._cells.append((joint, tuple(digits)))
        return self._cells[0]

    def cell_sums(self, v: np.ndarray) -> np.ndarray:
        """Per-cell sums of v (one bincount over the rows)."""
        joint, digits = self.cells()
        if joint is None:
            return np.array([v.sum()])
        return joint_sums(joint, len(digits[0]), v)

    def _cat_rmatvec(self, s: np.ndarray) -> np.ndarray:
        """The intercept and dummy columns' products with per-cell sums s (bincounts over the cells:
        tiny, and no threaded BLAS call that would cost more than it does)."""
        _, digits = self.cells()
        out = [np.array([s.sum()])]
        for d, (_, k) in zip(digits, self.cats):
            ok = d >= 0
            out.append(np.bincount(d[ok], weights=s[ok], minlength=k)[1:k])
        return np.concatenate(out)

    def __matmul__(self, lam: np.ndarray) -> np.ndarray:
        lam = np.asarray(lam, dtype=float)
        joint, digits = self.cells()
        if joint is None:
            out = np.full(self.n, lam[0])
        else:
            table = np.full(len(digits[0]), lam[0])
            for d, (_, k), off in zip(digits, self.cats, self.offsets):
                table += np.concatenate([[0.0], lam[off : off + k - 1], [0.0]])[d]  # baseline 0, code -1 -> 0
            out = gather(table, joint)
        for x, lj in zip(self.nums, lam[self._pc :]):
            out += lj * x
        return out

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        return np.concatenate([self._cat_rmatvec(self.cell_sums(v)), [x @ v for x in self.nums]])

    def xtwx(self, w: np.ndarray) -> np.ndarray:
        """X' diag(w) X (its first row, the intercept's, is X.T @ w)."""
        w = np.asarray(w, dtype=float)
        _, digits = self.cells()
        pc, p = self._pc, self.shape[1]
        T = np.zeros((p, p))
        S = self.cell_sums(w)
        T[0, :pc] = T[:pc, 0] = self._cat_rmatvec(S)
        offs = self.offsets
        for a, (da, (_, ka), oa) in enumerate(zip(digits, self.cats, offs)):
            T[oa : oa + ka - 1, oa : oa + ka - 1] = np.diag(T[0, oa : oa + ka - 1])
            for db, (_, kb), ob in list(zip(digits, self.cats, offs))[a + 1 :]:
                ok = (da >= 0) & (db >= 0)
                joint = np.bincount(da[ok] * kb + db[ok], weights=S[ok], minlength=ka * kb).reshape(ka, kb)
                T[oa : oa + ka - 1, ob : ob + kb - 1] = joint[1:, 1:]
                T[ob : ob + kb - 1, oa : oa + ka - 1] = joint[1:, 1:].T
        for i, x in enumerate(self.nums):
            wx = w * x
            T[:pc, pc + i] = T[pc + i, :pc] = self._cat_rmatvec(self.cell_sums(wx))
            for j2 in range(i, len(self.nums)):
                T[pc + i, pc + j2] = T[pc + j2, pc + i] = wx @ self.nums[j2]
        return T

    def dense(self) -> np.ndarray:
        if not self._dense:
            joint, digits = self.cells()
            X = np.empty(self.shape)
            if joint is None:
                X[:, 0] = 1.0
            else:  # the cells' model matrix, one row per cell, gathered for the rows
                Xc = np.zeros((len(digits[0]), self._pc))
                Xc[:, 0] = 1.0
                cell = np.arange(len(digits[0]))
                for d, off in zip(digits, self.offsets):
                    hit = d >= 1
                    Xc[cell[hit], off + d[hit] - 1] = 1.0
                X[:, : self._pc] = gather(Xc, joint)
            for j, x in enumerate(self.nums):
                X[:, self._pc + j] = x
            self._dense.append(X)
        return self._dense[0]

    def __array__(self, dtype=None, copy=None):
        X = self.dense()
        return X if dtype is None else X.astype(dtype)


@dataclass(frozen=True, eq=False)
class _Transposed:
    X: ModelMatrix

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        return self.X.rmatvec(v)


def from_codes(n: int, cats, nums) -> ModelMatrix:
    """A ModelMatrix from margin codes that use -1 for rows without a level."""
    return ModelMatrix(n, tuple((np.asarray(c), int(k)) for c, k in cats), tuple(nums))
