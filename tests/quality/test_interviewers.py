"""Durations, straightlining, item nonresponse, interviewer effects. All data here are SYNTHETIC."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from quietpoll.errors import ColumnError, ValidationError
from quietpoll.quality.interviewers import (
    adjust_pvalues,
    durations,
    interviewer_effects,
    item_nonresponse,
    straightlining,
)

# the planted SYNTHETIC survey lives next door (loaded by path: the test folders are not packages)
_spec = importlib.util.spec_from_file_location("_qp_planted", Path(__file__).with_name("test_duplicates.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
planted_survey, QUESTIONS, GRID, I03_BLOCK = _mod.planted_survey, _mod.QUESTIONS, _mod.GRID, _mod.I03_BLOCK


@pytest.fixture(scope="module")
def planted():
    return planted_survey()


# ---------------------------------------------------------------------------------------------
# planted problems


def test_planted_durations(planted):
    frame, truth = planted
    answered = (~frame.select(QUESTIONS).select(pl.all().is_null()).to_numpy()).sum(axis=1)
    flags = durations(frame, "start", "end", answered)
    assert [f["row"] for f in flags] == truth["bad_durations"].tolist()
    reasons = {f["row"]: f["reason"] for f in flags}
    bad = truth["bad_durations"]
    assert [reasons[r] for r in bad] == ["negative"] * 2 + ["too_short"] * 2 + ["missing"] * 2
    assert all(f["answered"] == answered[f["row"]] for f in flags)
    # default count of answers: every column but start/end (here: questions + interviewer)
    assert [f["row"] for f in durations(frame, "start", "end")] == bad.tolist()


def test_planted_straightlining(planted):
    frame, truth = planted
    flags = straightlining(frame, {"trust": GRID})
    assert [f["row"] for f in flags] == truth["straight_rows"].tolist()
    assert all(f["grid"] == "trust" and f["items"] == 5 and f["answered"] == 5 for f in flags)


def test_planted_interviewer_effects(planted):
    frame, _ = planted
    res = interviewer_effects(frame, QUESTIONS, "interviewer")
    pairs = {(r["interviewer"], r["question"]): r for r in res if r["kind"] == "interviewer"}
    for q in I03_BLOCK:
        r = pairs[("I03", q)]
        assert r["p_value"] < 1e-6 and r["flagged"], (q, r)
    summary = {r["interviewer"]: r for r in res if r["kind"] == "interviewer_summary"}
    assert summary["I03"]["flagged"]
    assert set(I03_BLOCK) <= set(summary["I03"]["flagged_questions"])
    others = [k for k, r in summary.items() if k != "I03" and r["flagged"]]
    assert len(others) <= 1, others
    # question level: the answer distribution of the I03 block depends on the interviewer
    qrows = {r["question"]: r for r in res if r["kind"] == "question"}
    for q in I03_BLOCK:
        assert qrows[q]["test"] == "chi2" and qrows[q]["p_value"] < 1e-6 and qrows[q]["flagged"]
        assert qrows[q]["rho_int"] is not None  # numeric codes: the ANOVA estimator is reported too
    clean = [q for q in QUESTIONS if q not in I03_BLOCK]
    assert sum(qrows[q]["flagged"] for q in clean) <= 1
    assert all(r["correction"] == "holm" for r in res)


def test_planted_item_nonresponse(planted):
    frame, truth = planted
    asked = pl.DataFrame({q: truth["asked"][:, j] for j, q in enumerate(QUESTIONS)})
    res = item_nonresponse(frame, QUESTIONS, "interviewer", asked=asked)
    byq = {r["question"]: r for r in res["by_question"]}
    # skip-logic questions: not-asked rows are not missing
    assert byq["q45"]["asked"] == int(truth["asked"][:, 44].sum())
    assert byq["q45"]["share"] < 0.1
    no_mask = item_nonresponse(frame, QUESTIONS)
    assert {r["question"]: r for r in no_mask["by_question"]}["q45"]["share"] > 0.3
    assert len(res["by_interviewer"]) == 12
    assert sum(r["flagged"] for r in res["by_interviewer"]) <= 1


# ---------------------------------------------------------------------------------------------
# units


def test_durations_numeric_text_and_missing():
    frame = pl.DataFrame(
        {
            "s": [0.0, 10.0, 5.0, None, 0.0],
            "e": [100.0, 5.0, 9.0, 3.0, 19.0],
            "q1": [1, 1, 1, 1, None],
        }
    )
    flags = durations(frame, "s", "e", np.array([10, 10, 2, 1, 10]))
    assert [(f["row"], f["reason"]) for f in flags] == [(1, "negative"), (3, "missing"), (4, "too_short")]
    assert flags[0]["seconds"] == -5.0 and flags[1]["seconds"] is None
    text = pl.DataFrame(
        {"s": ["2024-01-01 10:00:00", "2024-01-01 10:00:00"], "e": ["2024-01-01 10:30:00", "2024-01-01 10:00:30"]}
    )
    flags = durations(text, "s", "e", np.array([60, 60]))
    assert [(f["row"], f["seconds"]) for f in flags] == [(1, 30.0)]
    with pytest.raises(ValidationError):
        durations(frame, "s", "e", np.array([1, 2]))
    with pytest.raises(ColumnError):
        durations(frame, "s", "nope")


def test_straightlining_rules():
    frame = pl.DataFrame(
        {
            "a": [1, 1, 1, None, "x"],
            "b": [1, 2, 1, 3, "x"],
            "c": [1, 1, None, 3, "x"],
            "d": [1, 1, 1, 3, "y"],
        },
        strict=False,
    )
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in "abcd")
    flags = straightlining(frame, {"g": ["a", "b", "c", "d"]})
    assert [(f["row"], f["answer"], f["answered"]) for f in flags] == [(0, "1", 4), (2, "1", 3), (3, "3", 3)]
    num = pl.DataFrame({"a": [1.0, 2.0, float("nan")], "b": [1, 2, 2], "c": [1, 3, 2], "d": [1, 2, 2]})
    flags = straightlining(num, {"g": ["a", "b", "c", "d"]})  # int and float items on one scale; NaN skipped
    assert [(f["row"], f["answer"]) for f in flags] == [(0, 1.0), (2, 2.0)]
    assert straightlining(num, {"g": ["a", "b"]}) == []  # fewer than 3 answered


def test_item_nonresponse_counts_and_flag():
    rng = np.random.default_rng(0)
    n = 400
    iv = np.repeat(["A", "B", "C", "D"], 100)
    vals = rng.integers(1, 4, size=(n, 5)).astype(float)
    miss = rng.random((n, 5)) < 0.05
    miss[iv == "C"] |= rng.random((100, 5)) < 0.4  # C leaves many answers blank
    vals[miss] = np.nan
    frame = pl.DataFrame({"iv": iv, **{f"q{j}": vals[:, j] for j in range(5)}})
    res = item_nonresponse(frame, [f"q{j}" for j in range(5)], "iv")
    assert res["overall"]["missing"] == int(miss.sum()) and res["overall"]["asked"] == n * 5
    flagged = [r["interviewer"] for r in res["by_interviewer"] if r["flagged"]]
    assert flagged == ["C"]
    c = next(r for r in res["by_interviewer"] if r["interviewer"] == "C")
    table = np.array(
        [
            [c["missing"], c["asked"] - c["missing"]],
            [miss.sum() - c["missing"], n * 5 - c["asked"] - (miss.sum() - c["missing"])],
        ]
    )
    ref = stats.chi2_contingency(table, correction=False)
    assert c["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_adjust_pvalues():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    holm = adjust_pvalues(p, "holm")
    # sorted: 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> 0.02, 0.03, 0.06, 0.06 (monotone)
    np.testing.assert_allclose(holm[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm[4])
    np.testing.assert_allclose(adjust_pvalues(p, "bh")[:4], stats.false_discovery_control(p[:4]))
    with pytest.raises(ValidationError):
        adjust_pvalues(p, "bonferroni-ish")


def test_anova_rho_matches_formula_and_scipy():
    rng = np.random.default_rng(4)
    k, m = 10, 30
    g = np.repeat(np.arange(k), m)
    y = rng.normal(size=k)[g] * 0.5 + rng.normal(size=k * m)
    frame = pl.DataFrame({"iv": [f"i{x:02d}" for x in g], "y": y})
    row = next(r for r in interviewer_effects(frame, ["y"], "iv") if r["kind"] == "question")
    f_ref = stats.f_oneway(*[y[g == j] for j in range(k)])
    assert row["test"] == "anova"  # continuous: more than max_levels distinct values
    assert row["statistic"] == pytest.approx(f_ref.statistic, rel=1e-9)
    assert row["p_value"] == pytest.approx(f_ref.pvalue, rel=1e-9)
    assert row["anova_p"] == row["p_value"]
    msw = sum(((y[g == j] - y[g == j].mean()) ** 2).sum() for j in range(k)) / (k * m - k)
    msb = m * sum((y[g == j].mean() - y.mean()) ** 2 for j in range(k)) / (k - 1)
    assert row["rho_int"] == pytest.approx((msb - msw) / (msb + (m - 1) * msw), rel=1e-9)


def test_categorical_and_continuous_tests():
    rng = np.random.default_rng(9)
    iv = np.repeat(["a", "b", "c"], 60)
    cat = rng.choice(["yes", "no", "dk"], size=180)
    cat[iv == "b"] = "yes"
    cont = rng.normal(size=180) + 10 * rng.random(180)  # > 20 distinct values -> KS test
    cont[iv == "c"] += 5
    frame = pl.DataFrame({"iv": iv, "cat": cat, "cont": cont})
    res = interviewer_effects(frame, ["cat", "cont"], "iv")
    q = {r["question"]: r for r in res if r["kind"] == "question"}
    assert q["cat"]["test"] == "chi2" and q["cat"]["rho_int"] is None and q["cat"]["flagged"]
    assert 0 < q["cat"]["cramers_v"] <= 1
    pairs = {(r["interviewer"], r["question"]): r for r in res if r["kind"] == "interviewer"}
    assert pairs[("b", "cat")]["test"] == "chi2" and pairs[("b", "cat")]["flagged"]
    assert pairs[("c", "cont")]["test"] == "ks" and pairs[("c", "cont")]["flagged"]
    table = np.array(
        [
            [np.sum((iv == "b") & (cat == v)) for v in ("dk", "no", "yes")],
            [np.sum((iv != "b") & (cat == v)) for v in ("dk", "no", "yes")],
        ]
    )
    ref = stats.chi2_contingency(table, correction=False)
    assert pairs[("b", "cat")]["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
