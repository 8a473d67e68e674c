"""Near-duplicate interviews (percent match). All data here are SYNTHETIC, generated with numpy."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import numpy as np
import polars as pl
import pytest

from quietpoll.errors import ColumnError
from quietpoll.quality.duplicates import near_duplicates, null_threshold, percent_match

QUESTIONS = [f"q{j:02d}" for j in range(1, 61)]
GRID = [f"q{j:02d}" for j in range(51, 56)]  # a 5-item grid on a 1..5 scale
I03_BLOCK = [f"q{j:02d}" for j in range(11, 19)]


def planted_survey(seed: int = 7) -> tuple[pl.DataFrame, dict]:
    """SYNTHETIC survey: 600 interviews x 60 questions by 12 interviewers (I01..I12, 50 each), with
    planted problems. Returns (frame, truth)."""
    rng = np.random.default_rng(seed)
    n, nq = 600, 60
    interviewer = np.repeat([f"I{k:02d}" for k in range(1, 13)], 50)
    rng.shuffle(interviewer)
    # honest answers: a mild latent trait shifts the ordinal questions; levels 2..6
    z = rng.normal(size=n)
    levels = rng.integers(2, 7, size=nq)
    levels[50:55] = 5
    codes = np.empty((n, nq), dtype=np.int64)
    for q in range(nq):  # loop over questions
        p = rng.dirichlet(np.full(levels[q], 2.0))
        cut = np.cumsum(p)[:-1]
        u = 1 / (1 + np.exp(-(0.6 * z + rng.logistic(size=n))))
        codes[:, q] = np.searchsorted(cut, u)
    values = codes + 1  # answers 1..k
    # skip logic: q41..q50 asked only when q01 == 1
    asked = np.ones((n, nq), dtype=bool)
    asked[:, 40:50] = values[:, [0]] == 1
    missing = ~asked | ((rng.random((n, nq)) < 0.02) & (np.arange(nq) >= 1))  # q01 always answered
    # I03: the same answer pattern on q11..q18 for every respondent
    i03 = interviewer == "I03"
    pattern = rng.integers(1, levels[10:18] + 1)
    values[np.ix_(i03, np.arange(10, 18))] = pattern
    missing[np.ix_(i03, np.arange(10, 18))] = False
    # no accidental straightlining of the grid (answered items all equal): change item 1 of such rows
    g = np.arange(50, 55)
    gv = np.where(missing[:, g], 0, values[:, g])
    gm = ~missing[:, g]
    acc = (gm.sum(1) >= 3) & (np.where(gm, gv, 99).min(1) == np.where(gm, gv, -1).max(1))
    values[acc, 50] = values[acc, 50] % 5 + 1
    missing[acc, 50] = False
    # straightlining planted in known rows (not I07 copies)
    honest = np.flatnonzero(interviewer != "I07")
    straight_rows = np.sort(rng.choice(honest, size=8, replace=False))
    values[np.ix_(straight_rows, g)] = rng.integers(1, 6, size=(8, 1))
    missing[np.ix_(straight_rows, g)] = False
    # I07 copied 15 interviews of other interviewers, changing 0-3 answers
    i07_rows = np.flatnonzero(interviewer == "I07")
    dst = np.sort(rng.choice(i07_rows, size=15, replace=False))
    pool = np.setdiff1d(honest, straight_rows)
    src = rng.choice(pool, size=15, replace=False)
    values[dst] = values[src]
    missing[dst] = missing[src]
    n_change = rng.integers(0, 4, size=15)
    for r, k in zip(dst, n_change):  # 15 planted copies, not rows of the data
        cols = rng.choice(np.flatnonzero(~missing[r]), size=k, replace=False)
        values[r, cols] = values[r, cols] % levels[cols] + 1
    # durations: 25-70 minutes; impossible ones in known rows
    start = dt.datetime(2024, 3, 1, 9, 0)
    starts = np.array([start + dt.timedelta(hours=int(h)) for h in range(n)], dtype="datetime64[us]")  # n stamps
    secs = rng.integers(25 * 60, 70 * 60, size=n)
    bad = np.sort(rng.choice(n, size=6, replace=False))
    secs[bad[:2]] = -300  # negative
    secs[bad[2:4]] = 45  # 45 s for ~58 answers
    ends = starts + secs.astype("timedelta64[s]")
    data = {
        "interviewer": interviewer,
        "start": starts,
    }
    frame = pl.DataFrame(data).with_columns(end=pl.Series(ends))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(bad[4:].tolist())).then(None).otherwise(pl.col("end")).alias("end")
    )
    qcols = {
        q: pl.Series(q, np.where(missing[:, j], 0, values[:, j])).replace(0, None) for j, q in enumerate(QUESTIONS)
    }
    frame = frame.with_columns(**qcols)
    truth = {
        "pairs": {(int(min(a, b)), int(max(a, b))) for a, b in zip(src, dst)},
        "copies": dst,
        "sources": src,
        "n_change": n_change,
        "straight_rows": straight_rows,
        "bad_durations": bad,
        "asked": asked,
    }
    return frame, truth


# ---------------------------------------------------------------------------------------------
# planted problems


@pytest.fixture(scope="module")
def planted():
    return planted_survey()


def test_planted_copies_found(planted):
    frame, truth = planted
    flags = near_duplicates(frame, QUESTIONS, interviewer="interviewer", simulations=100)
    found = {(f["row"], f["match_row"]) for f in flags}
    tp = found & truth["pairs"]
    assert len(tp) / len(truth["pairs"]) == 1.0  # recall
    assert len(tp) / max(len(found), 1) >= 0.9  # precision
    for f in flags:
        assert f["row"] < f["match_row"]
        assert "I07" in (f["interviewer"], f["match_interviewer"])
    shares = [f["share"] for f in flags]
    assert shares == sorted(shares, reverse=True)
    # the threshold used is the simulated null or 0.85, whichever is higher
    assert flags[0]["threshold"] >= 0.85


def test_planted_percent_match_points_at_sources(planted):
    frame, truth = planted
    pm = percent_match(frame, QUESTIONS)
    assert np.array_equal(pm.match_row[truth["copies"]], truth["sources"])
    exact = truth["n_change"] == 0
    assert np.all(pm.share[truth["copies"][exact]] == 1.0)
    honest = np.setdiff1d(np.arange(frame.height), np.concatenate([truth["copies"], truth["sources"]]))
    assert np.nanmax(pm.share[honest]) < 0.85


def test_null_threshold_depends_on_questions_and_homogeneity():
    """Pew's point: fewer or more homogeneous questions -> higher chance maximum (SYNTHETIC data)."""
    rng = np.random.default_rng(3)
    n = 300
    het = pl.DataFrame({f"q{j}": rng.integers(0, 5, size=n) for j in range(40)})
    hom = pl.DataFrame({f"q{j}": (rng.random(n) < 0.1).astype(int) for j in range(40)})
    few = het.select(het.columns[:12])
    t_het = null_threshold(het, het.columns, simulations=40)
    t_hom = null_threshold(hom, hom.columns, simulations=40)
    t_few = null_threshold(few, few.columns, simulations=40)
    assert t_hom > 0.85 > t_het
    assert t_few > t_het
    assert null_threshold(het, het.columns, simulations=40) == t_het  # seeded


# ---------------------------------------------------------------------------------------------
# exactness against a brute-force reference


def brute_force(codes: np.ndarray, min_compared: int):
    n = len(codes)
    share = np.full(n, np.nan)
    row = np.full(n, -1)
    comp = np.zeros(n, dtype=int)
    for i in range(n):  # reference implementation: O(n^2) Python on tiny data
        for j in range(n):
            if i == j:
                continue
            both = (codes[i] >= 0) & (codes[j] >= 0)
            c = int(both.sum())
            if c < max(min_compared, 1):
                continue
            s = ((codes[i] == codes[j]) & both).sum() / c
            if row[i] < 0 or (s, c) > (share[i], comp[i]):  # ties: more compared, then lowest j
                share[i], row[i], comp[i] = s, j, c
    return share, row, comp


def to_frame(codes: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({f"q{j}": pl.Series(codes[:, j]).replace(-1, None) for j in range(codes.shape[1])})


@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, nq = int(rng.integers(2, 45)), int(rng.integers(1, 20))
    k = rng.integers(1, 4, size=nq)
    codes = rng.integers(0, 60, size=(n, nq)) % k
    codes[rng.random((n, nq)) < rng.random() * 0.5] = -1
    frame = to_frame(codes)
    minc = int(rng.integers(0, 6))
    ref = brute_force(codes, minc)
    for block in (1, 2, 7, 1024):
        pm = percent_match(frame, frame.columns, block=block, min_compared=minc)
        np.testing.assert_array_equal(pm.match_row, ref[1])
        np.testing.assert_array_equal(pm.compared, ref[2])
        np.testing.assert_array_equal(pm.share, ref[0])  # exact, NaN where no pair qualifies


def test_nulls_neither_match_nor_compared():
    a = [1, 2, None, 4, None, 1, 2, 3, 1, 2, 3, 3, 1]
    b = [1, 2, None, None, 5, 1, 2, 3, 1, 2, 3, 3, 1]
    c = [2, 1, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 2]
    frame = pl.DataFrame({f"q{j}": [a[j], b[j], c[j]] for j in range(13)})
    pm = percent_match(frame, frame.columns)
    assert pm.match_row[0] == 1 and pm.match_row[1] == 0
    assert pm.compared[0] == 10 and pm.share[0] == 1.0  # both null / one null: skipped


def test_self_matches_excluded_and_ties_lowest_row():
    frame = pl.DataFrame({f"q{j}": [j % 3, (j + 1) % 3, (j + 1) % 3, (j + 1) % 3] for j in range(12)})
    pm = percent_match(frame, frame.columns)
    assert pm.match_row.tolist() == [1, 2, 1, 1]  # never itself; equal shares -> lowest row
    assert pm.share.tolist()[1:] == [1.0, 1.0, 1.0]


def test_min_compared():
    frame = pl.DataFrame({"a": [1, 1], "b": [2, 2]})
    pm = percent_match(frame, ["a", "b"])
    assert np.isnan(pm.share).all() and pm.match_row.tolist() == [-1, -1] and pm.compared.tolist() == [0, 0]
    pm = percent_match(frame, ["a", "b"], min_compared=2)
    assert pm.share.tolist() == [1.0, 1.0]


def test_text_and_boolean_answers():
    frame = pl.DataFrame({"t": ["x", "y", "x"], "b": [True, False, True], "f": [1.0, float("nan"), 1.0]})
    pm = percent_match(frame, frame.columns, min_compared=1)
    assert pm.match_row.tolist() == [2, 0, 0] and pm.share[0] == 1.0 and pm.compared[0] == 3
    assert pm.compared[1] == 2  # NaN counts as null


def test_block_size_does_not_change_result():
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 3, size=(500, 25))
    codes[rng.random(codes.shape) < 0.1] = -1
    frame = to_frame(codes)
    ref = percent_match(frame, frame.columns)
    for block in (1, 13, 64, 499, 500, 5000):
        pm = percent_match(frame, frame.columns, block=block)
        np.testing.assert_array_equal(pm.match_row, ref.match_row)
        np.testing.assert_array_equal(pm.share, ref.share)
        np.testing.assert_array_equal(pm.compared, ref.compared)


def test_memory_no_n_by_n_matrix():
    n = 3000
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 4, size=(n, 30))
    codes[rng.random(codes.shape) < 0.05] = -1
    frame = to_frame(codes)
    tracemalloc.start()
    percent_match(frame, frame.columns, block=256)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # an n x n float32 matrix alone would be 36 MB (float64: 72 MB)
    assert peak < n * n * 4 / 2, peak


def test_near_duplicates_pairs_once_sorted():
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 5, size=(50, 20))
    codes[10] = codes[3]
    codes[20] = codes[3]
    codes[40] = codes[30]
    codes[40, :2] = (codes[30, :2] + 1) % 5
    flags = near_duplicates(to_frame(codes), [f"q{j}" for j in range(20)], threshold=0.85)
    assert [(f["row"], f["match_row"]) for f in flags] == [(3, 10), (3, 20), (10, 20), (30, 40)]
    assert [f["share"] for f in flags] == [1.0, 1.0, 1.0, 0.9]
    assert all(f["compared"] == 20 for f in flags)


def test_missing_column():
    with pytest.raises(ColumnError, match="nope"):
        percent_match(pl.DataFrame({"a": [1]}), ["a", "nope"])


# ---------------------------------------------------------------------------------------------
# the null simulation's fast paths give what the plain ones gave (so thresholds did not move)


def _choice_draws(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The simulation as it was written first: rng.choice per question."""
    out = np.empty_like(codes)
    for k in range(codes.shape[1]):
        counts = np.bincount(codes[:, k] + 1)
        out[:, k] = rng.choice(counts.size, size=codes.shape[0], p=counts / counts.sum()) - 1
    return out


def _random_codes(seed: int) -> np.ndarray:
    """SYNTHETIC codes: few-level and many-level questions (uuids, counts), some with nulls, some without."""
    g = np.random.default_rng(seed)
    n, nq = int(g.integers(2, 300)), int(g.integers(1, 50))
    codes = g.integers(-1, g.integers(1, 400, size=nq), size=(n, nq)).astype(np.int32)
    full = g.random(nq) < 0.4
    codes[:, full] = np.maximum(codes[:, full], 0)
    return codes


@pytest.mark.parametrize("seed", range(12))
def test_null_draws_equal_rng_choice(seed):
    from quietpoll.quality.duplicates import _NullSampler

    codes = _random_codes(seed)
    sampler = _NullSampler(codes)
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    for _ in range(3):
        assert np.array_equal(sampler.draw(r2), _choice_draws(codes, r1))


@pytest.mark.parametrize("seed", range(12))
def test_null_statistic_equals_largest_percent_match(seed):
    from quietpoll.quality.duplicates import _MaxShare, _percent_match_codes

    codes = _random_codes(seed)
    for min_compared, block in ((1, 1024), (3, 7), (len(codes[0]) + 1, 50)):
        share = _percent_match_codes(codes, 1024, min_compared).share
        want = float(np.nanmax(share)) if np.isfinite(share).any() else float("nan")
        got = _MaxShare(codes, block, min_compared)(codes)
        assert (np.isnan(want) and np.isnan(got)) or got == want


def test_simulation_stops_early_only_when_clearly_below_the_floor():
    """With a floor (the caller uses max(quantile, floor)) the draws stop at 100 when the maxima are far
    below it; the first 100 draws are those of the full run; near the floor every draw is made."""
    from quietpoll.quality.duplicates import EARLY_DRAWS, _simulated_maxima

    rng = np.random.default_rng(8)  # SYNTHETIC: 40 varied questions -> chance maxima far below 0.85
    codes = rng.integers(0, 6, size=(120, 40)).astype(np.int32)
    full = _simulated_maxima(codes, 300, 0, 1024, 10)
    early = _simulated_maxima(codes, 300, 0, 1024, 10, floor=0.85)
    assert full.size == 300 and early.size == EARLY_DRAWS == 100
    assert np.array_equal(early, full[:100]) and early.mean() + 6 * early.std(ddof=1) < 0.85
    homogeneous = (rng.random((120, 40)) < 0.05).astype(np.int32)  # chance maxima near 1: no early stop
    assert _simulated_maxima(homogeneous, 300, 0, 1024, 10, floor=0.85).size == 300
    frame = pl.DataFrame(codes, schema=[f"q{j}" for j in range(40)])
    assert null_threshold(frame, frame.columns, simulations=300) == float(np.quantile(full, 0.99))
    assert null_threshold(frame, frame.columns, simulations=300, floor=0.85) == float(np.quantile(early, 0.99))


def test_small_products_run_on_one_blas_thread(monkeypatch):
    """Up to ONE_THREAD_ROWS interviews the simulation's and the scan's products run on one BLAS thread
    (OpenBLAS's threads cost more than they save on products this small); the setting is restored after,
    above the limit it is left alone, and the results do not depend on it."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from quietpoll.quality import duplicates as dup

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("numpy reports no BLAS library to threadpoolctl")
    seen: list[set[int]] = []
    real_scan, real_call = dup._scan, dup._MaxShare.__call__

    def scan(*a, **k):
        seen.append(blas_threads())
        return real_scan(*a, **k)

    def call(self, codes):
        seen.append(blas_threads())
        return real_call(self, codes)

    monkeypatch.setattr(dup, "_scan", scan)
    monkeypatch.setattr(dup._MaxShare, "__call__", call)
    rng = np.random.default_rng(5)  # SYNTHETIC
    frame = pl.DataFrame(rng.integers(0, 4, size=(60, 12)), schema=[f"q{j}" for j in range(12)])
    with threadpool_limits(limits=2, user_api="blas"):
        outside = blas_threads()
        pairs = near_duplicates(frame, frame.columns, simulations=20)
        assert seen and all(s == {1} for s in seen)
        assert blas_threads() == outside  # restored
        seen.clear()
        monkeypatch.setattr(dup, "ONE_THREAD_ROWS", 10)  # 60 rows are now "many": threads left alone
        assert near_duplicates(frame, frame.columns, simulations=20) == pairs
        assert seen and all(s == outside for s in seen)
