"""The calibration model matrix without the matrix.

R's model.matrix(~ a + b + x) for calibration is an intercept, 0/1 dummies for the levels of each
categorical margin (the first level dropped) and numeric columns. Stored densely that is n x p
floats (200 MB for a million rows and 25 columns) of which almost all are zeros; stored as level
codes, every product the calibration needs is a gather or a bincount:

    X @ lam        intercept + lam[level of each margin] + numeric columns @ their lam
    X.T @ v        sum(v), per-level sums of v (bincount), numeric columns @ v
    X' diag(w) X   weighted counts of each pair of margins' levels (bincount of joint codes) ...

The dense matrix is made only when asked for (the QR behind standard errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class ModelMatrix:
    n: int
    cats: tuple[tuple[np.ndarray, int], ...]   # (codes in 0..k-1, k for no level; k) per margin
    nums: tuple[np.ndarray, ...]               # numeric columns
    _dense: list = field(default_factory=list, repr=False)

    @property
    def offsets(self) -> list[int]:
        out, j = [], 1
        for _, k in self.cats:
            out.append(j)
            j += k - 1
        return out

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, 1 + sum(k - 1 for _, k in self.cats) + len(self.nums)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def T(self) -> _Transposed:
        return _Transposed(self)

    def __matmul__(self, lam: np.ndarray) -> np.ndarray:
        lam = np.asarray(lam, dtype=float)
        out = np.full(self.n, lam[0])
        for (codes, k), off in zip(self.cats, self.offsets):
            table = np.concatenate([[0.0], lam[off:off + k - 1], [0.0]])   # baseline 0, code -1 -> 0
            out += table[codes]
        j = 1 + sum(k - 1 for _, k in self.cats)
        for x in self.nums:
            out += lam[j] * x
            j += 1
        return out

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        parts = [np.array([v.sum()])]
        for codes, k in self.cats:
            parts.append(_sums(codes, k, v)[1:])
        parts.append(np.array([x @ v for x in self.nums]))
        return np.concatenate(parts)

    def xtwx(self, w: np.ndarray) -> np.ndarray:
        """X' diag(w) X."""
        w = np.asarray(w, dtype=float)
        p = self.shape[1]
        T = np.zeros((p, p))
        T[0, 0] = w.sum()
        offs = self.offsets
        jn = 1 + sum(k - 1 for _, k in self.cats)
        for a, ((ca, ka), oa) in enumerate(zip(self.cats, offs)):
            sa = _sums(ca, ka, w)[1:]
            T[0, oa:oa + ka - 1] = T[oa:oa + ka - 1, 0] = sa
            T[oa:oa + ka - 1, oa:oa + ka - 1] = np.diag(sa)
            for cb, kb, ob in [(cb, kb, ob) for (cb, kb), ob in list(zip(self.cats, offs))[a + 1:]]:
                ok = (ca < ka) & (cb < kb)
                joint = np.bincount(ca[ok] * kb + cb[ok], weights=w[ok], minlength=ka * kb).reshape(ka, kb)
                T[oa:oa + ka - 1, ob:ob + kb - 1] = joint[1:, 1:]
                T[ob:ob + kb - 1, oa:oa + ka - 1] = joint[1:, 1:].T
            for i, x in enumerate(self.nums):
                s = _sums(ca, ka, w * x)[1:]
                T[oa:oa + ka - 1, jn + i] = T[jn + i, oa:oa + ka - 1] = s
        for i, x in enumerate(self.nums):
            wx = w * x
            T[0, jn + i] = T[jn + i, 0] = wx.sum()
            for j2 in range(i, len(self.nums)):
                T[jn + i, jn + j2] = T[jn + j2, jn + i] = wx @ self.nums[j2]
        return T

    def dense(self) -> np.ndarray:
        if not self._dense:
            X = np.zeros(self.shape)
            X[:, 0] = 1.0
            rows = np.arange(self.n)
            for (codes, _k), off in zip(self.cats, self.offsets):
                hit = (codes >= 1) & (codes < _k)
                X[rows[hit], off + codes[hit] - 1] = 1.0
            j = 1 + sum(k - 1 for _, k in self.cats)
            for x in self.nums:
                X[:, j] = x
                j += 1
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


def _sums(codes: np.ndarray, k: int, v: np.ndarray) -> np.ndarray:
    """Per-level sums of v (rows with code k, no level, left out)."""
    return np.bincount(codes, weights=v, minlength=k + 1)[:k]


def from_codes(n: int, cats, nums) -> ModelMatrix:
    """A ModelMatrix from margin codes that use -1 for rows without a level."""
    shifted = tuple((np.where(c >= 0, c, k).astype(np.int64), k) for c, k in cats)
    return ModelMatrix(n, shifted, tuple(nums))
