"""Hadamard matrices exactly as R's survey::hadamard builds them (0/1 coding, the same rows and
columns as R), for balanced repeated replication: R's four stored matrices (4, 16, 28, 36), doubling
(Sylvester) and Paley's constructions."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from quietpoll.errors import DesignError

__all__ = ["hadamard", "check_hadamard_matrix"]

_PRECOOKED_ROWS: tuple[tuple[str, ...], ...] = (
    (
        "1111",
        "1010",
        "1100",
        "1001",
    ),
    (
        "1111111111111111",
        "1010101010101010",
        "1100110011001100",
        "1001100110011001",
        "1111000011110000",
        "1010010110100101",
        "1100001111000011",
        "1001011010010110",
        "1111111100000000",
        "1010101001010101",
        "1100110000110011",
        "1001100101100110",
        "1111000000001111",
        "1010010101011010",
        "1100001100111100",
        "1001011001101001",
    ),
    (
        "1111111111111111111111111111",
        "1001110001110001110001111000",
        "1000001111001101001101111000",
        "1000001110110010111001100110",
        "1001101000001111100011010110",
        "1001010100101100010110101110",
        "1000110011010010001110011110",
        "0101100010101010011111110000",
        "0100010110110101100111010100",
        "0100011011001011110010101100",
        "0101011000010111011101001010",
        "0100101101100100111010011010",
        "0101100101011001101100100110",
        "0010110100011110101011101000",
        "0011011001100110101100110100",
        "0010101100111011010100011100",
        "0011000111010111010010110010",
        "0011001011111000100111001010",
        "0010110011101101011001000110",
        "1110101001010100010111100100",
        "1111000101100011001011001100",
        "1111000010011100111000011100",
        "1110010101001010110101010010",
        "1110011000111001001010110010",
        "1110100010100111100100101010",
        "1101111111111110000000000000",
        "1011111110000001111110000000",
        "0111111110000000000001111110",
    ),
    (
        "111111111111111111111111111111111111",
        "010111000111110111001000010101100100",
        "101110001111101110010000101011001000",
        "011100011111011100100001010110010010",
        "111000111110111001000010101100100100",
        "110001111101110010000101011001001010",
        "100011111011100100001010110010010110",
        "000111110111001000010101100100101110",
        "001111101110010000101011001001011100",
        "011111011100100001010110010010111000",
        "111110111001000010101100100101110000",
        "111101110010000101011001001011100010",
        "111011100100001010110010010111000110",
        "110111001000010101100100101110001110",
        "101110010000101011001001011100011110",
        "011100100001010110010010111000111110",
        "111001000010101100100101110001111100",
        "110010000101011001001011100011111010",
        "100100001010110010010111000111110110",
        "001000010101100100101110001111101110",
        "010000101011001001011100011111011100",
        "100001010110010010111000111110111000",
        "000010101100100101110001111101110010",
        "000101011001001011100011111011100100",
        "001010110010010111000111110111001000",
        "010101100100101110001111101110010000",
        "101011001001011100011111011100100000",
        "010110010010111000111110111001000010",
        "101100100101110001111101110010000100",
        "011001001011100011111011100100001010",
        "110010010111000111110111001000010100",
        "100100101110001111101110010000101010",
        "001001011100011111011100100001010110",
        "010010111000111110111001000010101100",
        "100101110001111101110010000101011000",
        "001011100011111011100100001010110010",
    ),
)


# ----------------------------------------------------------------------------------------------
# Hadamard matrices, as survey::hadamard builds them (0/1 coding, same rows and columns as R)
# ----------------------------------------------------------------------------------------------

_PRECOOKED_SIZES = (4, 16, 28, 36)
_MAX_SMALL_PRIME = 7919  # R's paley() knows the primes p = 3 (mod 4) up to this one


@lru_cache(maxsize=1)
def _small_primes() -> np.ndarray:
    sieve = np.ones(_MAX_SMALL_PRIME + 1, dtype=bool)
    sieve[:2] = False
    for k in range(2, int(_MAX_SMALL_PRIME**0.5) + 1):
        if sieve[k]:
            sieve[k * k :: k] = False
    primes = np.flatnonzero(sieve)
    return primes[primes % 4 == 3]


@lru_cache(maxsize=None)
def _precooked(i: int) -> np.ndarray:
    rows = _PRECOOKED_ROWS[i]
    m = np.array([[c == "1" for c in row] for row in rows], dtype=np.int64)
    m.setflags(write=False)
    return m


def _double(h: np.ndarray) -> np.ndarray:
    return np.block([[h, h], [h, 1 - h]])


def _paley_prime(p: int) -> np.ndarray:
    """Paley construction of order p+1 for a prime p = 3 (mod 4), 0/1 coded, bordered by ones."""
    idx = np.arange(p)
    m = np.add.outer(idx, idx) % p
    residues = np.unique(np.concatenate(([0, 1], (np.arange(2, (p - 1) // 2 + 1) ** 2) % p)))
    core = np.where(np.isin(m, residues), 0, 1)
    out = np.ones((p + 1, p + 1), dtype=np.int64)
    out[1:, 1:] = core
    return out


def _paley(n: int, nmax: int | None = None) -> np.ndarray | None:
    """R's survey:::paley(n, nmax): a Paley-type matrix with more than n rows, or None."""
    if nmax is None:
        nmax = 2 * n
    primes = _small_primes()
    nceil = nn = n + 4 - (n % 4)
    if (n % 4) + 4 == (n % 8):
        while nn % 8 == 0:
            nn //= 2
        if (nn - 1) in primes:
            m = _paley_prime(nn - 1)
            while nn < nceil:
                m = _double(m)
                nn *= 2
            return m
    if n > primes[-1]:
        return None
    p = int(primes[primes >= n][0])
    if p + 1 > nceil + 4 and nceil + 4 < nmax:
        return _paley(nceil + 3)
    if p > nmax:
        return None
    return _paley_prime(p)


def hadamard(n: int) -> np.ndarray:
    """The Hadamard matrix R's ``survey::hadamard(n)`` returns: at least ``n + 1`` rows, 0/1 coded.

    Same entries, rows and columns as R, as an ``int64`` array of 0 and 1.  ``2 * H - 1`` is the
    usual +-1 matrix, with ``(2H-1) @ (2H-1).T == k * I`` for its order ``k``.  BRR with ``S``
    strata uses rows ``1..S`` (row 0 is skipped) and one replicate per column.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise DesignError(f"hadamard(n) needs a non-negative integer n, got {n!r}")
    n = int(n)
    m = n - (n % 4)
    for i, size in enumerate(_PRECOOKED_SIZES):
        if m < size <= m + 4:
            return _precooked(i).copy()
    if all(m < size for size in _PRECOOKED_SIZES):  # pragma: no cover - caught by the loop above
        return _precooked(0).copy()
    doublings = [max(0, math.ceil(math.log2((n + 1) / size))) for size in _PRECOOKED_SIZES]
    sizes = [size * 2**d for size, d in zip(_PRECOOKED_SIZES, doublings)]
    best = min(range(len(sizes)), key=lambda i: sizes[i] - n)  # first minimum, as which.min
    h = None
    if sizes[best] - n > 4:
        h = _paley(n, sizes[best])
    if h is None:
        h = _precooked(best).copy()
        for _ in range(doublings[best]):
            h = _double(h)
    return h


def check_hadamard_matrix(matrix: np.ndarray, n_strata: int) -> np.ndarray:
    """A user-supplied Hadamard matrix, recoded 0/1 as R does (the value of H[0, 0] becomes 0)."""
    h = np.asarray(matrix)
    if h.ndim != 2 or h.shape[0] < n_strata + 1:
        raise DesignError(f"hadamard_matrix must be a matrix with at least n_strata + 1 = {n_strata + 1} rows")
    values = np.unique(h)
    if values.size != 2:
        raise DesignError(f"hadamard_matrix must hold exactly two distinct values, found {values.size}")
    h01 = (h != h.flat[0]).astype(np.int64)
    pm = 2 * h01 - 1
    if h01.shape[0] != h01.shape[1] or not np.array_equal(
        pm.T @ pm, h01.shape[0] * np.eye(h01.shape[0], dtype=np.int64)
    ):
        raise DesignError("hadamard_matrix is not a Hadamard matrix (columns are not orthogonal)")
    return h01
