"""Near-duplicate interviews: the percent-match measure of Kuriakose & Robbins (2016).

For every interview, the highest share of identical answers it has with any *other* interview, over
the questions both were asked (a null -- skipped, not asked, missing -- in either interview is neither
a match nor compared). An interviewer or intermediary who copies an interview and changes a few answers
leaves a pair whose share is far above what honest interviews reach by chance.

How it is computed (exactly, in bounded memory):

* each question's answers become small integer codes once (null = -1);
* the codes are one-hot encoded into an n x L float32 matrix ``H`` (L = total number of answer levels
  over all questions), so ``matches = H @ H.T`` and, for the questions with any nulls,
  ``compared = A @ A.T`` with ``A`` the n x Q' asked-indicator matrix (questions without nulls add a
  constant). These are BLAS products; float32 is exact because every entry is an integer count below
  2**24. Up to ``ONE_THREAD_ROWS`` interviews they run on one BLAS thread (threadpoolctl): products
  that small gain nothing from OpenBLAS's threads, whose wake-ups made each 241 x 448 product of the
  null simulation 4 to 8 ms instead of 0.35 ms on a 2-core machine that had other work;
* the products are taken one block of rows at a time against the rows *from that block on* (the
  upper triangle: each pair is computed once and used for both of its rows), so memory is a few
  block x n arrays, never n x n.

Pew's objection (Simmons, Mercer, Schwarzer & Kennedy 2016) is that a fixed 85% cut-off ignores the
number of questions and how homogeneous the answers are; :func:`null_threshold` therefore simulates
the maximum percent match among n interviews whose answers are drawn independently, question by
question, from the observed answer and missingness distributions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from quietpoll.errors import ColumnError, ValidationError

#: Kuriakose & Robbins' fixed cut-off; :func:`near_duplicates` never flags below it by default.
KR_THRESHOLD = 0.85

#: up to this many interviews the products run on one BLAS thread (see the module docstring)
ONE_THREAD_ROWS = 4096


def _blas_threads(n: int) -> contextlib.AbstractContextManager:
    """One BLAS thread for the products of ``n`` interviews when ``n`` is at most ONE_THREAD_ROWS (the
    library's own setting above). Threads change no result: every product is of exact integer counts."""
    if n > ONE_THREAD_ROWS:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@dataclass(frozen=True)
class PercentMatch:
    """Per interview: best share of identical answers with another interview, which one, over how many.

    ``share[i]`` is NaN, ``match_row[i]`` is -1 and ``compared[i]`` is 0 when no other interview
    shares at least ``min_compared`` asked questions with interview ``i``.
    """

    share: np.ndarray
    match_row: np.ndarray
    compared: np.ndarray


# --------------------------------------------------------------------------------------------------
# encoding


def encode_answers(frame: pl.DataFrame, questions: Sequence[str]) -> np.ndarray:
    """n x Q int32 codes 0..k_q-1 of each question's answers (dense, sorted order); null/NaN -> -1."""
    questions = list(questions)
    missing = [q for q in questions if q not in frame.columns]
    if missing:
        raise ColumnError(f"question column(s) not in the data: {', '.join(missing)}")
    n = frame.height
    codes = np.empty((n, len(questions)), dtype=np.int32)
    for k, q in enumerate(questions):
        s = frame[q]
        if s.dtype == pl.Boolean:
            s = s.cast(pl.UInt8)
        elif s.dtype in (pl.Categorical,) or isinstance(s.dtype, pl.Enum):
            s = s.cast(pl.String)
        elif s.dtype.is_float():
            s = s.fill_nan(None)
        elif s.dtype.is_nested():
            raise ValidationError(f"question {q!r} holds lists or structs; give one column per answer")
        r = s.rank("dense")  # 1..k, nulls stay null
        codes[:, k] = r.fill_null(0).to_numpy().astype(np.int32) - 1
    return codes


def _one_hot(codes: np.ndarray) -> np.ndarray:
    """n x L float32 indicator matrix of (question, level); a null answer has no 1 anywhere."""
    n, nq = codes.shape
    levels = codes.max(axis=0, initial=-1).astype(np.int64) + 1
    offsets = np.concatenate([[0], np.cumsum(levels)[:-1]]).astype(np.int64)
    h = np.zeros((n, int(levels.sum())), dtype=np.float32)
    rows, cols = np.nonzero(codes >= 0)
    h[rows, offsets[cols] + codes[rows, cols]] = 1.0
    return h


# --------------------------------------------------------------------------------------------------
# the scan


def _scan(codes: np.ndarray, block: int, min_compared: int, threshold: float | None = None):
    """Best match of every row (share desc, then compared desc, then lowest row) and, if ``threshold``
    is given, every pair i < j with share > threshold.

    The ranking key is ``share + compared * eps`` with ``eps`` so small that it only orders pairs of
    exactly equal share (distinct shares m/c differ by at least 1/Q**2; compared * eps < 1/(2 Q**2)).
    """
    n, nq = codes.shape
    if block < 1:
        raise ValidationError("block must be a positive number of rows")
    best_key = np.full(n, -1.0)
    best_row = np.full(n, -1, dtype=np.int64)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    if n < 2 or nq == 0:
        return best_key, best_row, np.zeros(n, np.int64), pairs

    h = _one_hot(codes)
    asked = codes >= 0
    partial = ~asked.all(axis=0)
    n_full = int(nq - partial.sum())
    a = asked[:, partial].astype(np.float32) if partial.any() else None
    eps = 1.0 / (2.0 * float(nq) ** 3 + 2.0)
    floor = max(int(min_compared), 1)

    for s in range(0, n, block):
        e = min(s + block, n)
        hb, hr = h[s:e], h[s:]  # block rows against rows s.. (upper triangle incl. the block)
        m = hb @ hr.T  # float32, exact integer counts
        if a is not None:
            c = a[s:e] @ a[s:].T
            if n_full:
                c += n_full
        else:
            c = np.full(m.shape, float(n_full), dtype=np.float32)
        key = m.astype(np.float64)
        del m
        with np.errstate(divide="ignore", invalid="ignore"):
            key /= c
        if threshold is not None:
            hit = key > threshold
            hit &= c >= floor
            hit[:, : e - s] &= np.triu(np.ones((e - s, e - s), dtype=bool), k=1)
            bi, bj = np.nonzero(hit)
            if bi.size:
                pairs.append((bi + s, bj + s))
            del hit
        low = c < floor
        c *= eps  # in place: float32 is enough to order equal shares by compared
        key += c
        key[low] = -1.0
        del low
        idx = np.arange(e - s)
        key[idx, idx] = -1.0  # self-matches
        # rows of the block: first maximum over columns s.. (lowest row among ties)
        j = key.argmax(axis=1)
        kb = key[idx, j]
        _merge(best_key, best_row, np.arange(s, e), kb, j + s)
        # columns s..: first maximum over the block's rows
        i = key.argmax(axis=0)
        kc = key[i, np.arange(key.shape[1])]
        _merge(best_key, best_row, np.arange(s, n), kc, i + s)
        del c, key

    found = best_row >= 0
    comp = np.zeros(n, dtype=np.int64)
    if found.any():
        r, o = np.flatnonzero(found), best_row[found]
        ar, ao = asked[r], asked[o]
        comp[r] = (ar & ao).sum(axis=1)
    return best_key, best_row, comp, pairs


def _merge(best_key, best_row, rows, key, cand):
    """Keep, per row, the better of the current best and a candidate (higher key, then lower row)."""
    cur_k, cur_r = best_key[rows], best_row[rows]
    better = (key > cur_k) | ((key == cur_k) & (key >= 0) & ((cur_r < 0) | (cand < cur_r)))
    best_key[rows[better]] = key[better]
    best_row[rows[better]] = cand[better]


def _result(codes: np.ndarray, best_row: np.ndarray, comp: np.ndarray) -> PercentMatch:
    n = codes.shape[0]
    share = np.full(n, np.nan)
    found = best_row >= 0
    if found.any():
        r, o = np.flatnonzero(found), best_row[found]
        same = (codes[r] == codes[o]) & (codes[r] >= 0) & (codes[o] >= 0)
        share[r] = same.sum(axis=1) / comp[r]
    return PercentMatch(share=share, match_row=best_row.copy(), compared=comp)


def _percent_match_codes(codes: np.ndarray, block: int, min_compared: int) -> PercentMatch:
    with _blas_threads(codes.shape[0]):
        _, best_row, comp, _ = _scan(codes, block, min_compared)
    return _result(codes, best_row, comp)


# --------------------------------------------------------------------------------------------------
# public API


def percent_match(
    frame: pl.DataFrame, questions: Sequence[str], *, block: int = 1024, min_compared: int = 10
) -> PercentMatch:
    """Highest share of identical answers of each interview with any other interview.

    Only questions both interviews were asked count (a null in either is skipped); pairs with fewer
    than ``min_compared`` such questions are ignored. Ties in share go to the pair with more questions
    compared, then to the lowest row number. Exact; memory O(block x n); ``block`` does not change the
    result.
    """
    codes = encode_answers(frame, questions)
    return _percent_match_codes(codes, block, min_compared)


def _simulate_codes(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent draws, question by question, from each question's observed answers and nulls (one
    simulated data set; :class:`_NullSampler` draws the same values faster)."""
    return _NullSampler(codes).draw(rng)


class _NullSampler:
    """Draws simulated data sets as ``rng.choice(k, size=n, p=counts / n)`` per question did, value for
    value: numpy's ``choice`` with ``p`` is ``cdf = p.cumsum(); cdf /= cdf[-1]`` and
    ``cdf.searchsorted(rng.random(n), side="right")``, and Q successive ``rng.random(n)`` calls are one
    ``rng.random((Q, n))`` call.

    All questions are searched at once, exactly: a uniform draw is ``m / 2**53`` (numpy's doubles), so
    ``cdf <= m / 2**53`` is ``ceil(cdf * 2**53) <= m`` in integers; each question's integer keys are
    shifted by its own offset (``k * (2**53 + 2)``), which keeps the questions apart in one sorted array
    (in chunks of questions small enough for int64)."""

    _SCALE = 2.0**53
    _STRIDE = 2**53 + 2
    _CHUNK = 1000  # questions per sorted array: 1000 * (2**53 + 2) < 2**63

    def __init__(self, codes: np.ndarray) -> None:
        self.n, self.nq = codes.shape
        self.chunks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        for c0 in range(0, self.nq, self._CHUNK):
            keys: list[np.ndarray] = []
            starts: list[int] = []
            for k in range(c0, min(c0 + self._CHUNK, self.nq)):  # a loop over questions, never over rows
                counts = np.bincount(codes[:, k] + 1)  # index 0 = null
                cdf = (counts / counts.sum()).cumsum()
                cdf /= cdf[-1]
                starts.append(sum(len(x) for x in keys))
                keys.append(np.ceil(cdf * self._SCALE).astype(np.int64) + (k - c0) * self._STRIDE)
            shift = (np.arange(len(keys), dtype=np.int64) * self._STRIDE)[:, None]
            self.chunks.append((c0, np.concatenate(keys), np.asarray(starts, np.int64)[:, None], shift))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        u = rng.random((self.nq, self.n))
        out = np.empty((self.nq, self.n), dtype=np.int64)
        for c0, keys, starts, shift in self.chunks:
            part = (u[c0 : c0 + len(starts)] * self._SCALE).astype(np.int64) + shift
            out[c0 : c0 + len(starts)] = np.searchsorted(keys, part, side="right") - starts
        return (out - 1).T.astype(np.int32)


#: questions with more answer levels than this are matched through a sparse product (few pairs share a
#: level), the others through one dense one-hot product (BLAS)
_DENSE_LEVELS = 16


class _MaxShare:
    """The largest percent match among the rows of a code matrix with the shape and answer levels of
    ``codes`` (the statistic of the null simulation): the share of :func:`percent_match` maximized over
    rows, computed without the ranking and tie-breaking a full scan needs. Dense one-hot product for the
    questions with few levels, sparse product for those with many (uuids, counts, free numbers), both in
    blocks of rows so memory stays O(block x n)."""

    def __init__(self, codes: np.ndarray, block: int, min_compared: int) -> None:
        n, nq = codes.shape
        if block < 1:
            raise ValidationError("block must be a positive number of rows")
        levels = codes.max(axis=0, initial=-1).astype(np.int64) + 1
        self.dense = np.flatnonzero(levels <= _DENSE_LEVELS)
        self.sparse = np.flatnonzero(levels > _DENSE_LEVELS)
        self.d_off = np.concatenate([[0], np.cumsum(levels[self.dense])]).astype(np.int64)
        self.s_off = np.concatenate([[0], np.cumsum(levels[self.sparse])]).astype(np.int64)
        self.partial = np.flatnonzero((codes < 0).any(axis=0))  # questions some interviews were not asked
        self.n_full = nq - self.partial.size
        self.n, self.block, self.floor = n, block, max(int(min_compared), 1)

    def __call__(self, codes: np.ndarray) -> float:
        n = self.n
        if n < 2 or codes.shape[1] == 0:
            return float("nan")
        from scipy import sparse

        d = codes[:, self.dense]
        h = np.zeros((n, int(self.d_off[-1])), dtype=np.float32)
        r, c = np.nonzero(d >= 0)
        h[r, self.d_off[c] + d[r, c]] = 1.0
        sp = None
        if self.sparse.size:
            s = codes[:, self.sparse]
            r, c = np.nonzero(s >= 0)
            sp = sparse.csr_matrix(
                (np.ones(r.size, np.float32), (r, self.s_off[c] + s[r, c])), shape=(n, int(self.s_off[-1]))
            )
        a = (codes[:, self.partial] >= 0).astype(np.float32) if self.partial.size else None
        best = -1.0
        for s0 in range(0, n, self.block):
            e = min(s0 + self.block, n)
            m = h[s0:e] @ h[s0:].T  # float32: exact integer counts
            if sp is not None:
                m += (sp[s0:e] @ sp[s0:].T).toarray()
            comp = a[s0:e] @ a[s0:].T if a is not None else np.zeros_like(m)
            comp += self.n_full
            ok = comp >= self.floor
            ok[:, : e - s0] &= np.triu(np.ones((e - s0, e - s0), dtype=bool), k=1)  # pairs i < j, once
            if ok.any():
                best = max(best, float((m[ok].astype(np.float64) / comp[ok]).max()))
        return best if best >= 0 else float("nan")


#: with a ``floor`` the simulation may stop after this many draws (and each further batch of as many)
EARLY_DRAWS = 100
#: ... when the mean of the simulated maxima plus this many of their standard deviations is below the floor
#: (the 99.99th percentile of a Gumbel maximum is its mean plus 5.7 sd, of a normal one 3.7 sd)
EARLY_SDS = 6.0


def _simulated_maxima(codes, simulations, seed, block, min_compared, floor=None) -> np.ndarray:
    """The largest percent match of each simulated data set. With ``floor``, the draws stop at a multiple
    of EARLY_DRAWS once the maxima are clearly below it (their mean + EARLY_SDS sd): the caller uses
    ``max(quantile, floor)``, which is then ``floor`` whatever the remaining draws would give, so only
    the reported quantile moves, within its Monte Carlo error. Without ``floor``, exactly
    ``simulations`` draws."""
    if simulations < 1:
        raise ValidationError("simulations must be at least 1")
    rng = np.random.default_rng(seed)
    sampler, statistic = _NullSampler(codes), _MaxShare(codes, block, min_compared)
    maxima = np.full(simulations, np.nan)
    with _blas_threads(codes.shape[0]):
        for b in range(simulations):
            maxima[b] = statistic(sampler.draw(rng))
            done = b + 1
            if floor is not None and done % EARLY_DRAWS == 0 and done < simulations:
                seen = maxima[:done][np.isfinite(maxima[:done])]
                if seen.size >= EARLY_DRAWS and seen.mean() + EARLY_SDS * seen.std(ddof=1) < floor:
                    return maxima[:done]
    return maxima


def _null_threshold_codes(codes, simulations, quantile, seed, block, min_compared, floor=None) -> float:
    if not 0.0 < quantile <= 1.0:
        raise ValidationError("quantile must be in (0, 1]")
    maxima = _simulated_maxima(codes, simulations, seed, block, min_compared, floor)
    if np.isnan(maxima).all():
        return float("nan")
    return float(np.nanquantile(maxima, quantile))


def null_threshold(
    frame: pl.DataFrame,
    questions: Sequence[str],
    *,
    simulations: int = 200,
    quantile: float = 0.99,
    seed: int = 0,
    block: int = 1024,
    min_compared: int = 10,
    codes: np.ndarray | None = None,
    floor: float | None = None,
) -> float:
    """Simulated chance level of the largest percent match among ``frame.height`` interviews.

    Each simulation draws n interviews whose answers are independent across questions and
    interviews, each question from its observed distribution including its share of nulls; the
    statistic is the largest percent match among them. Returns the ``quantile`` of that maximum over
    ``simulations`` runs. ``codes``: :func:`encode_answers` of ``frame`` and ``questions`` when the caller
    has them already. ``floor``: the caller will use ``max(result, floor)`` (Kuriakose & Robbins' 0.85):
    the simulation may then stop after 100, 200, ... draws once the maxima are clearly below ``floor``
    (their mean + 6 sd), which leaves the threshold used unchanged and the returned quantile within its
    Monte Carlo error (an estimate from fewer draws).

    Cost: ``simulations`` draws and largest-match products on n rows (no ranking, no tie-breaking: only
    the largest share is needed), questions with many answer levels through a sparse product.
    """
    if codes is None:
        codes = encode_answers(frame, questions)
    return _null_threshold_codes(codes, simulations, quantile, seed, block, min_compared, floor)


def near_duplicates(
    frame: pl.DataFrame,
    questions: Sequence[str],
    *,
    interviewer: str | None = None,
    threshold: float | None = None,
    seed: int = 0,
    simulations: int = 200,
    quantile: float = 0.99,
    block: int = 1024,
    min_compared: int = 10,
    codes: np.ndarray | None = None,
) -> list[dict]:
    """Every pair of interviews (row < match_row, once) whose percent match exceeds ``threshold``.

    ``threshold=None`` uses ``max(null_threshold(...), 0.85)``: the simulated chance maximum (which
    rises with few or homogeneous questions, Pew's point) but never below Kuriakose & Robbins' 85%,
    because the independence null ignores the correlation between honest answers and so understates
    how alike honest interviews can be. A pair is flagged when its share is strictly greater than the
    threshold. Sorted by share (descending), then row, then match_row. ``codes``: as for
    :func:`null_threshold`.
    """
    if interviewer is not None and interviewer not in frame.columns:
        raise ColumnError(f"interviewer column {interviewer!r} is not in the data")
    if codes is None:
        codes = encode_answers(frame, questions)
    if threshold is None:
        null = _null_threshold_codes(codes, simulations, quantile, seed, block, min_compared, floor=KR_THRESHOLD)
        threshold = KR_THRESHOLD if not np.isfinite(null) else max(null, KR_THRESHOLD)
    threshold = float(threshold)
    with _blas_threads(codes.shape[0]):
        _, _, _, pairs = _scan(codes, block, min_compared, threshold=threshold)
    if not pairs:
        return []
    i = np.concatenate([p[0] for p in pairs])
    j = np.concatenate([p[1] for p in pairs])
    ci, cj = codes[i], codes[j]
    both = (ci >= 0) & (cj >= 0)
    compared = both.sum(axis=1)
    share = ((ci == cj) & both).sum(axis=1) / compared
    order = np.lexsort((j, i, -share))
    i, j, share, compared = i[order], j[order], share[order], compared[order]
    out = {
        "row": i.tolist(),
        "match_row": j.tolist(),
        "share": share.tolist(),
        "compared": compared.tolist(),
    }
    if interviewer is not None:
        iv = frame[interviewer]
        out["interviewer"] = iv.gather(i).to_list()
        out["match_interviewer"] = iv.gather(j).to_list()
    out["threshold"] = [threshold] * len(i)
    keys = list(out)
    return [dict(zip(keys, vals)) for vals in zip(*out.values())]


__all__ = ["PercentMatch", "KR_THRESHOLD", "encode_answers", "percent_match", "null_threshold", "near_duplicates"]
