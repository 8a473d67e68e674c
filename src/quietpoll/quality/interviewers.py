"""Interview- and interviewer-level quality checks: durations, straightlining, item nonresponse and
interviewer effects. Pure functions over polars frames; each returns plain dicts for reports.

Rows are 0-based positions in ``frame``. Nothing here loops over rows in Python; loops run over
questions, grids or interviewers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from scipy import special  # chi-squared and F tails (the functions scipy.stats calls)

from quietpoll.errors import ColumnError, ValidationError

from .ks import ks_2samp

# --------------------------------------------------------------------------------------------------
# helpers


def _require(frame: pl.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ColumnError(f"{what} column(s) not in the data: {', '.join(missing)}")


def _null_mask(s: pl.Series) -> np.ndarray:
    m = s.is_null()
    if s.dtype.is_float():
        m = m | s.is_nan().fill_null(True)
    return m.to_numpy()


def adjust_pvalues(p: np.ndarray, method: str = "holm") -> np.ndarray:
    """Holm (family-wise error) or Benjamini-Hochberg ("bh", false discovery rate) adjusted p-values.

    NaN p-values (tests that could not be run) stay NaN and do not count towards the family size.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if not ok.any():
        return out
    q = p[ok]
    if method == "holm":
        m = q.size
        order = np.argsort(q, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
        res = np.empty(m)
        res[order] = adj
    elif method == "bh":
        from scipy import stats  # loaded only when Benjamini-Hochberg is asked for

        res = stats.false_discovery_control(q, method="bh")
    else:
        raise ValidationError(f"unknown multiple-testing correction {method!r}: use 'holm' or 'bh'")
    out[ok] = res
    return out


def _seconds(frame: pl.DataFrame, start: str, end: str) -> np.ndarray:
    s, e = frame[start], frame[end]
    if s.dtype == pl.String:
        s = s.str.to_datetime(strict=False)
    if e.dtype == pl.String:
        e = e.str.to_datetime(strict=False)
    if s.dtype.is_temporal() and e.dtype.is_temporal():
        if s.dtype == pl.Date:
            s = s.cast(pl.Datetime("us"))
        if e.dtype == pl.Date:
            e = e.cast(pl.Datetime("us"))
        if isinstance(s.dtype, pl.Datetime) and isinstance(e.dtype, pl.Datetime):
            # a timezone on one side only cannot be compared; treat both as naive wall clock
            if s.dtype.time_zone != e.dtype.time_zone:
                s = s.dt.replace_time_zone(None)
                e = e.dt.replace_time_zone(None)
        secs = (e - s).dt.total_microseconds().cast(pl.Float64) / 1e6
        return secs.fill_null(np.nan).to_numpy()
    if s.dtype.is_numeric() and e.dtype.is_numeric():
        return (e.cast(pl.Float64) - s.cast(pl.Float64)).fill_null(np.nan).fill_nan(np.nan).to_numpy()
    raise ColumnError(
        f"start {start!r} ({s.dtype}) and end {end!r} ({e.dtype}) must both be date-times or both numbers of seconds"
    )


# --------------------------------------------------------------------------------------------------
# durations


def durations(
    frame: pl.DataFrame,
    start: str,
    end: str,
    n_answered: np.ndarray | None = None,
    *,
    min_seconds_per_question: float = 2.0,
) -> list[dict]:
    """Interviews too short for the number of questions answered, or with a negative or missing duration.

    ``start``/``end`` are date-time columns (text is parsed) or numbers of seconds. ``n_answered``
    defaults to the number of non-null values per row in all columns other than ``start`` and ``end``
    (pass it explicitly to count only the questions). Flagged when the duration is missing ("missing"),
    below zero ("negative") or below ``min_seconds_per_question * answered`` ("too_short").
    Returns ``{"row", "seconds", "answered", "min_seconds", "reason"}`` in row order.
    """
    _require(frame, [start, end], "duration")
    secs = _seconds(frame, start, end)
    if n_answered is None:
        others = [c for c in frame.columns if c not in (start, end)]
        if others:
            nulls = np.column_stack([_null_mask(frame[c]) for c in others])
            answered = (~nulls).sum(axis=1)
        else:
            answered = np.zeros(frame.height, dtype=np.int64)
    else:
        answered = np.asarray(n_answered)
        if answered.shape != (frame.height,):
            raise ValidationError(f"n_answered has shape {answered.shape}; expected ({frame.height},)")
    minimum = min_seconds_per_question * answered
    missing = ~np.isfinite(secs)
    with np.errstate(invalid="ignore"):
        negative = ~missing & (secs < 0)
        short = ~missing & ~negative & (secs < minimum)
    reason = np.where(missing, "missing", np.where(negative, "negative", "too_short"))
    rows = np.flatnonzero(missing | negative | short)
    sec_out = [None if m else float(x) for x, m in zip(secs[rows].tolist(), missing[rows].tolist())]
    return [
        {"row": r, "seconds": s, "answered": int(a), "min_seconds": float(mn), "reason": str(why)}
        for r, s, a, mn, why in zip(
            rows.tolist(), sec_out, answered[rows].tolist(), minimum[rows].tolist(), reason[rows].tolist()
        )
    ]


# --------------------------------------------------------------------------------------------------
# straightlining


def straightlining(frame: pl.DataFrame, grids: Mapping[str, Sequence[str]], *, min_items: int = 3) -> list[dict]:
    """Rows giving the same answer to every answered item of a grid, with at least ``min_items`` answered.

    Items of a grid are compared by value (they share one answer scale). Returns
    ``{"grid", "row", "answer", "answered", "items"}`` sorted by grid (in the order given), then row.
    """
    out: list[dict] = []
    for name, items in grids.items():
        items = list(items)
        _require(frame, items, f"grid {name!r}")
        if not items:
            continue
        k = len(items)
        # one value vector of the grid in row-major order, on a common type
        v = frame.select(pl.concat_list([pl.col(c) for c in items]).alias("v")).explode("v")["v"]
        if v.dtype.is_float():
            v = v.fill_nan(None)
        if v.dtype == pl.Boolean:
            v = v.cast(pl.UInt8)
        codes = (v.rank("dense").fill_null(0).to_numpy().astype(np.int64) - 1).reshape(frame.height, k)
        asked = codes >= 0
        answered = asked.sum(axis=1)
        big = np.iinfo(np.int64).max
        lo = np.where(asked, codes, big).min(axis=1)
        hi = np.where(asked, codes, -1).max(axis=1)
        rows = np.flatnonzero((answered >= min_items) & (lo == hi))
        if rows.size == 0:
            continue
        first = asked[rows].argmax(axis=1)
        values = v.gather(rows * k + first).to_list()
        out.extend(
            {"grid": name, "row": r, "answer": val, "answered": int(a), "items": k}
            for r, val, a in zip(rows.tolist(), values, answered[rows].tolist())
        )
    return out


# --------------------------------------------------------------------------------------------------
# item nonresponse


def item_nonresponse(
    frame: pl.DataFrame,
    questions: Sequence[str],
    interviewer: str | None = None,
    *,
    asked: pl.DataFrame | None = None,
    correction: str = "holm",
    alpha: float = 0.05,
) -> dict:
    """Share of answers missing, by question and by interviewer.

    A null (or NaN) answer to a question the interview was asked counts as missing. ``asked`` is an
    optional frame of booleans with the question columns (same rows): False means not asked (skip
    logic) and the question is left out of both the numerator and the denominator for that row.

    By interviewer, each interviewer's missing share is compared with everyone else's (chi-square test
    of the 2 x 2 table, scipy.stats.chi2_contingency without continuity correction); ``flagged`` marks
    interviewers with a *higher* share whose adjusted p-value (``correction``: Holm by default, or
    "bh") is below ``alpha``.
    """
    questions = list(questions)
    _require(frame, questions, "question")
    n = frame.height
    if questions:
        missing = np.column_stack([_null_mask(frame[q]) for q in questions])
    else:
        missing = np.zeros((n, 0), dtype=bool)
    if asked is not None:
        _require(asked, questions, "asked-mask")
        if asked.height != n:
            raise ValidationError(f"asked has {asked.height} rows; the data have {n}")
        was = (
            np.column_stack([asked[q].cast(pl.Boolean).fill_null(False).to_numpy() for q in questions])
            if questions
            else np.zeros((n, 0), dtype=bool)
        )
    else:
        was = np.ones_like(missing)
    miss = missing & was
    by_q_miss, by_q_asked = miss.sum(axis=0), was.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_q = by_q_miss / by_q_asked
    result = {
        "overall": {
            "missing": int(miss.sum()),
            "asked": int(was.sum()),
            "share": float(miss.sum() / was.sum()) if was.sum() else None,
        },
        "by_question": [
            {"question": q, "missing": int(m), "asked": int(a), "share": (float(s) if a else None)}
            for q, m, a, s in zip(questions, by_q_miss.tolist(), by_q_asked.tolist(), share_q.tolist())
        ],
        "by_interviewer": [],
        "correction": correction,
    }
    if interviewer is None:
        return result
    _require(frame, [interviewer], "interviewer")
    codes, labels = _interviewer_codes(frame, interviewer)
    keep = codes >= 0
    g = len(labels)
    rm, ra = miss.sum(axis=1), was.sum(axis=1)
    m_i = np.bincount(codes[keep], weights=rm[keep], minlength=g)
    a_i = np.bincount(codes[keep], weights=ra[keep], minlength=g)
    m_tot, a_tot = m_i.sum(), a_i.sum()
    m_r, a_r = m_tot - m_i, a_tot - a_i
    # 2 x 2 chi-square (interviewer vs rest) x (missing vs answered), vectorized over interviewers
    obs = np.stack([m_i, a_i - m_i, m_r, a_r - m_r], axis=1)
    col_m, col_a = m_tot, a_tot - m_tot
    exp = np.stack([a_i * col_m, a_i * col_a, a_r * col_m, a_r * col_a], axis=1) / max(a_tot, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(exp > 0, (obs - exp) ** 2 / np.where(exp > 0, exp, 1), 0.0).sum(axis=1)
        valid = (a_i > 0) & (a_r > 0) & (col_m > 0) & (col_a > 0)
        p = np.where(valid, special.chdtrc(1, stat), np.nan)
        share_i = m_i / a_i
        share_r = m_r / a_r
    p_adj = adjust_pvalues(p, correction)
    result["by_interviewer"] = [
        {
            "interviewer": lab,
            "missing": int(mi),
            "asked": int(ai),
            "share": (float(si) if ai else None),
            "share_rest": (float(sr) if ar else None),
            "p_value": (float(pv) if np.isfinite(pv) else None),
            "p_adjusted": (float(pa) if np.isfinite(pa) else None),
            "flagged": bool(np.isfinite(pa) and pa < alpha and si > sr),
        }
        for lab, mi, ai, si, sr, ar, pv, pa in zip(labels, m_i, a_i, share_i, share_r, a_r, p, p_adj)
    ]
    return result


# --------------------------------------------------------------------------------------------------
# interviewer effects


def _interviewer_codes(frame: pl.DataFrame, interviewer: str) -> tuple[np.ndarray, list]:
    iv = frame[interviewer]
    labels = iv.drop_nulls().unique().sort()
    r = iv.rank("dense")
    codes = r.fill_null(0).to_numpy().astype(np.int64) - 1
    return codes, labels.to_list()


def _anova_rho(y: np.ndarray, g: np.ndarray, k: int) -> tuple[float, float, float, float, float]:
    """One-way ANOVA of y by group g (0..k-1): (rho_int, F, df1, df2, p). rho is the ANOVA estimator
    (MSB - MSW) / (MSB + (n0 - 1) MSW), n0 = (N - sum n_i^2 / N) / (k - 1), unequal group sizes."""
    n_i = np.bincount(g, minlength=k).astype(float)
    present = n_i > 0
    kk = int(present.sum())
    N = float(y.size)
    if kk < 2 or N - kk < 1:
        return (np.nan,) * 5
    s_i = np.bincount(g, weights=y, minlength=k)
    mean = y.mean()
    m_i = np.divide(s_i, n_i, out=np.zeros(k), where=present)
    ssb = float((n_i * (m_i - mean) ** 2).sum())
    ssw = float(((y - m_i[g]) ** 2).sum())
    msb, msw = ssb / (kk - 1), ssw / (N - kk)
    n0 = (N - (n_i**2).sum() / N) / (kk - 1)
    denom = msb + (n0 - 1) * msw
    rho = (msb - msw) / denom if denom > 0 else np.nan
    if msw > 0:
        f = msb / msw
        p = float(special.fdtrc(kk - 1, N - kk, f))
    else:
        f, p = (np.inf, 0.0) if msb > 0 else (np.nan, np.nan)
    return float(rho), float(f), float(kk - 1), float(N - kk), p


def _chi2_table(t: np.ndarray) -> tuple[float, float, float]:
    """Pearson chi-square of a contingency table (zero rows/columns dropped): (stat, df, p)."""
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return np.nan, np.nan, np.nan
    n = t.sum()
    e = np.outer(t.sum(axis=1), t.sum(axis=0)) / n
    stat = float(((t - e) ** 2 / e).sum())
    df = float((t.shape[0] - 1) * (t.shape[1] - 1))
    return stat, df, float(special.chdtrc(df, stat))


def interviewer_effects(
    frame: pl.DataFrame,
    questions: Sequence[str],
    interviewer: str,
    *,
    max_levels: int = 20,
    min_interviews: int = 5,
    correction: str = "holm",
    alpha: float = 0.05,
) -> list[dict]:
    """Interviewer effects, per question and per interviewer x question.

    Per question (``"kind": "question"``):

    * discrete answers (text, boolean, or numeric with at most ``max_levels`` distinct values): Pearson
      chi-square of answer by interviewer (``"test": "chi2"``, with Cramer's V) -- it sees any change
      of distribution, e.g. one interviewer giving everyone the same answer, not only shifted means;
    * continuous numeric answers: the one-way ANOVA F test (``"test": "anova"``);
    * for every numeric or boolean question, the intra-interviewer correlation ``rho_int`` (ANOVA
      estimator with unequal workloads) and the ANOVA p-value ``anova_p``; None for text.

    Per interviewer and question (``"kind": "interviewer"``): does this interviewer's answer
    distribution differ from everyone else's? Discrete questions (text, boolean, or numeric with at most
    ``max_levels`` distinct values): chi-square of the 2 x L table (this interviewer vs the rest);
    continuous numeric questions: two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp's numbers,
    :func:`quietpoll.quality.ks.ks_2samp`).
    Interviewers with fewer than ``min_interviews`` answers to a question are not tested on it.

    Multiple testing: ``correction`` ("holm", the default: family-wise error control, since a flag is an
    accusation; or "bh") is applied across questions for the question-level tests, and across all
    interviewer x question tests for the interviewer-level ones; ``flagged`` = adjusted p < ``alpha``.

    A summary row per interviewer (``"kind": "interviewer_summary"``) lists the questions on which they
    were flagged and their smallest adjusted p-value; ``flagged`` is True if any question was.
    Nulls (answers or interviewer) are left out of every test.
    """
    questions = list(questions)
    _require(frame, questions, "question")
    _require(frame, [interviewer], "interviewer")
    g_all, labels = _interviewer_codes(frame, interviewer)
    k = len(labels)
    q_rows: list[dict] = []
    i_rows: list[dict] = []
    for q in questions:
        s = frame[q]
        ok = ~_null_mask(s) & (g_all >= 0)
        g = g_all[ok]
        sv = s.filter(pl.Series(ok))
        numeric = sv.dtype.is_numeric() or sv.dtype == pl.Boolean
        if sv.dtype == pl.Boolean:
            sv = sv.cast(pl.UInt8)
        if isinstance(sv.dtype, pl.Enum) or sv.dtype == pl.Categorical:
            sv = sv.cast(pl.String)
        codes = sv.rank("dense").to_numpy().astype(np.int64) - 1 if sv.len() else np.zeros(0, np.int64)
        n_levels = int(codes.max()) + 1 if codes.size else 0
        discrete = (not numeric) or n_levels <= max_levels
        table = (
            np.bincount(g * max(n_levels, 1) + codes, minlength=k * max(n_levels, 1))
            .reshape(k, max(n_levels, 1))
            .astype(float)
            if codes.size
            else np.zeros((k, 1))
        )
        row: dict = {"kind": "question", "question": q, "n": int(ok.sum())}
        rho = anova_p = None
        if numeric:
            y = sv.cast(pl.Float64).to_numpy()
            rho, f, d1, d2, anova_p = _anova_rho(y, g, k)
        if discrete:
            stat, df, p = _chi2_table(table)
            t = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
            denom = t.sum() * (min(t.shape) - 1) if min(t.shape) > 1 else 0
            v = float(np.sqrt(stat / denom)) if denom and np.isfinite(stat) else None
            row.update(
                test="chi2", rho_int=rho, statistic=stat, df=df, df2=None, p_value=p, cramers_v=v, anova_p=anova_p
            )
        else:
            row.update(
                test="anova", rho_int=rho, statistic=f, df=d1, df2=d2, p_value=anova_p, cramers_v=None, anova_p=anova_p
            )
        q_rows.append(row)

        # each interviewer vs the rest
        n_i = table.sum(axis=1)
        if discrete and codes.size:
            col = table.sum(axis=0)
            rest = col[None, :] - table
            n_r = n_i.sum() - n_i
            used = col > 0
            e_i = n_i[:, None] * col[None, :] / max(n_i.sum(), 1)
            e_r = n_r[:, None] * col[None, :] / max(n_i.sum(), 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                stat_i = (
                    np.where(used, (table - e_i) ** 2 / np.where(e_i > 0, e_i, 1), 0)
                    + np.where(used, (rest - e_r) ** 2 / np.where(e_r > 0, e_r, 1), 0)
                ).sum(axis=1)
            df_i = float(used.sum() - 1)
            testable = (n_i >= min_interviews) & (n_r > 0) & (df_i >= 1)
            p_i = np.where(testable, special.chdtrc(max(df_i, 1), stat_i), np.nan)
            for j in range(k):
                i_rows.append(
                    {
                        "kind": "interviewer",
                        "interviewer": labels[j],
                        "question": q,
                        "test": "chi2",
                        "n": int(n_i[j]),
                        "statistic": float(stat_i[j]) if testable[j] else None,
                        "df": df_i if testable[j] else None,
                        "p_value": float(p_i[j]) if testable[j] else None,
                    }
                )
        else:
            y = sv.cast(pl.Float64).to_numpy() if codes.size else np.zeros(0)
            for j in range(k):
                mine = g == j
                st: float | None
                pv: float | None
                if mine.sum() >= min_interviews and (~mine).sum() > 0:
                    st, pv = ks_2samp(y[mine], y[~mine])  # scipy.stats.ks_2samp's numbers (quality/ks.py)
                else:
                    st = pv = None
                i_rows.append(
                    {
                        "kind": "interviewer",
                        "interviewer": labels[j],
                        "question": q,
                        "test": "ks",
                        "n": int(mine.sum()),
                        "statistic": st,
                        "df": None,
                        "p_value": pv,
                    }
                )

    def _adjust(rows: list[dict]) -> None:
        p = np.array([np.nan if r["p_value"] is None else r["p_value"] for r in rows], dtype=float)
        pa = adjust_pvalues(p, correction)
        for r, a in zip(rows, pa.tolist()):
            r["p_adjusted"] = a if np.isfinite(a) else None
            r["flagged"] = bool(np.isfinite(a) and a < alpha)
            r["correction"] = correction
            for key in ("rho_int", "statistic", "p_value"):
                if isinstance(r.get(key), float) and not np.isfinite(r[key]) and key != "statistic":
                    r[key] = None

    _adjust(q_rows)
    _adjust(i_rows)
    summary = []
    for j, lab in enumerate(labels):
        mine = [r for r in i_rows if r["interviewer"] == lab]
        flagged_q = [r["question"] for r in mine if r["flagged"]]
        pas = [r["p_adjusted"] for r in mine if r["p_adjusted"] is not None]
        summary.append(
            {
                "kind": "interviewer_summary",
                "interviewer": lab,
                "tests": len(pas),
                "flagged_questions": flagged_q,
                "min_p_adjusted": min(pas) if pas else None,
                "flagged": bool(flagged_q),
                "correction": correction,
            }
        )
    return q_rows + i_rows + summary


__all__ = ["adjust_pvalues", "durations", "straightlining", "item_nonresponse", "interviewer_effects"]
