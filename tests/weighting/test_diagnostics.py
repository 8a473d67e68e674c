"""Tests for weight diagnostics. All data here are SYNTHETIC (hand-made or generated with fixed seeds)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pytest

from quietpoll.errors import WeightingError
from quietpoll.weighting.diagnostics import (
    diagnostics,
    dominant_weight_warnings,
    effective_n,
    kish_deff,
    margins_achieved,
    smd,
    weight_summary,
)


@dataclass(frozen=True)
class FakeMargin:
    """Stand-in for weighting.targets.Margin (duck typing)."""

    variable: str
    kind: str
    levels: tuple[str, ...] = ()
    totals: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _frame():
    """SYNTHETIC respondents."""
    return pl.DataFrame(
        {
            "sex": ["f", "f", "m", "m", "m"],
            "region": [1, 2, 1, 2, 2],
            "age": [20.0, 30.0, 40.0, 50.0, 60.0],
        }
    )


# -------------------------------------------------------------------------------------------
# formulas
# -------------------------------------------------------------------------------------------


def test_kish_by_hand():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    # n * sum(w^2) / sum(w)^2 = 4 * 30 / 100
    assert kish_deff(w) == pytest.approx(1.2)
    # sum(w)^2 / sum(w^2) = 100 / 30
    assert effective_n(w) == pytest.approx(100 / 30)
    assert kish_deff(w) * effective_n(w) == pytest.approx(4)


def test_equal_weights():
    w = np.full(37, 2.5)
    assert kish_deff(w) == pytest.approx(1.0)
    assert effective_n(w) == pytest.approx(37.0)
    s = weight_summary(w)
    assert s["cv"] == pytest.approx(0.0, abs=1e-15)
    assert s["ratio_max_min"] == pytest.approx(1.0)


def test_weight_summary_by_hand():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    s = weight_summary(w)
    assert s["n"] == 4
    assert s["sum"] == 10.0
    assert s["min"] == 1.0 and s["max"] == 4.0
    assert s["mean"] == 2.5
    assert s["ratio_max_min"] == 4.0
    assert s["cv"] == pytest.approx(math.sqrt(1.25) / 2.5)
    assert set(s["quantiles"]) == {"0.01", "0.05", "0.25", "0.5", "0.75", "0.95", "0.99"}
    assert s["quantiles"]["0.5"] == pytest.approx(2.5)
    assert s["quantiles"]["0.25"] == pytest.approx(1.75)  # R type 7
    assert s["quantiles"]["0.01"] == pytest.approx(1.03)
    # a zero weight: ratio undefined
    assert weight_summary([0.0, 1.0])["ratio_max_min"] is None


def test_bad_weights():
    with pytest.raises(WeightingError, match="negative"):
        kish_deff([1.0, -1.0])
    with pytest.raises(WeightingError, match="missing or infinite"):
        effective_n([1.0, np.nan])
    with pytest.raises(WeightingError, match="all zero"):
        weight_summary([0.0, 0.0])
    with pytest.raises(WeightingError, match="non-empty"):
        kish_deff([])


# -------------------------------------------------------------------------------------------
# dominant weights
# -------------------------------------------------------------------------------------------


def test_dominant_weight_warning():
    w = np.ones(100)
    assert dominant_weight_warnings(w) == []
    w[17] = 50.0  # 50 / 149 = 33.6% of the total
    msgs = dominant_weight_warnings(w)
    assert len(msgs) == 1
    assert msgs[0].startswith("row 17 carries 33.6% of the total weight")
    assert "5.0%" in msgs[0]
    w[3] = 100.0
    msgs = dominant_weight_warnings(w, max_share=0.2)
    assert [m.split()[1] for m in msgs] == ["3", "17"]  # largest first
    with pytest.raises(WeightingError, match="max_share"):
        dominant_weight_warnings(w, max_share=1.5)


# -------------------------------------------------------------------------------------------
# margins achieved
# -------------------------------------------------------------------------------------------


def test_margins_achieved_exact_hit():
    f = _frame()
    # weights chosen by hand: f = 10 + 10 = 20, m = 10 + 20 + 20 = 50; region 1 = 10 + 10, region 2 = 10 + 20 + 20
    w = np.array([10.0, 10.0, 10.0, 20.0, 20.0])
    margins = [
        FakeMargin("sex", "categorical", ("f", "m"), np.array([20.0, 50.0])),
        FakeMargin("region", "categorical", ("1", "2"), np.array([20.0, 50.0])),
        FakeMargin("age", "numeric", (), np.array([200.0 + 300 + 400 + 1000 + 1200])),
    ]
    rows = margins_achieved(f, margins, w)
    assert [(r["variable"], r["level"]) for r in rows] == [
        ("sex", "f"),
        ("sex", "m"),
        ("region", "1"),
        ("region", "2"),
        ("age", None),
    ]
    for r in rows:
        assert r["difference"] == pytest.approx(0.0, abs=1e-9)
        assert r["achieved"] == pytest.approx(r["target"])
        assert r["relative_difference"] == pytest.approx(0.0, abs=1e-12)
    assert rows[-1]["kind"] == "numeric"


def test_margins_achieved_difference():
    f = _frame()
    w = np.ones(5)
    rows = margins_achieved(f, [FakeMargin("sex", "categorical", ("f", "m", "x"), np.array([3.0, 3.0, 0.0]))], w)
    assert [r["achieved"] for r in rows] == [2.0, 3.0, 0.0]
    assert [r["difference"] for r in rows] == [-1.0, 0.0, 0.0]
    assert rows[2]["relative_difference"] is None


def test_margins_level_text_matching():
    # SYNTHETIC: float codes 1.0/2.0 match levels "1"/"2"; booleans match "true"/"false"
    f = pl.DataFrame({"r": [1.0, 2.0, 2.0], "b": [True, False, True]})
    rows = margins_achieved(
        f,
        [
            FakeMargin("r", "categorical", ("1", "2"), np.array([1.0, 2.0])),
            FakeMargin("b", "categorical", ("false", "true"), np.array([1.0, 2.0])),
        ],
        np.ones(3),
    )
    assert all(r["difference"] == 0 for r in rows)
    # non-whole numbers keep their decimals; whole ones do not
    g = pl.DataFrame({"r": [1.0, 1.5, 1.5, None]})
    rows = margins_achieved(g, [FakeMargin("r", "categorical", ("1", "1.5"), np.array([1.0, 2.0]))], np.ones(4))
    assert [r["achieved"] for r in rows] == [1.0, 2.0]


def test_margins_errors():
    f = _frame()
    with pytest.raises(WeightingError, match="column 'edu' is not in the data"):
        margins_achieved(f, [FakeMargin("edu", "categorical", ("a",), np.array([1.0]))], np.ones(5))
    with pytest.raises(WeightingError, match="2 levels but 3 totals"):
        margins_achieved(f, [FakeMargin("sex", "categorical", ("f", "m"), np.ones(3))], np.ones(5))
    with pytest.raises(WeightingError, match="kind 'ordinal'"):
        margins_achieved(f, [FakeMargin("sex", "ordinal", ("f", "m"), np.ones(2))], np.ones(5))
    with pytest.raises(WeightingError, match="column 'sex' has a numeric margin"):
        margins_achieved(f, [FakeMargin("sex", "numeric", (), np.ones(1))], np.ones(5))
    with pytest.raises(WeightingError, match="5 rows"):
        margins_achieved(f, [], np.ones(4))


# -------------------------------------------------------------------------------------------
# SMD
# -------------------------------------------------------------------------------------------


def test_smd_numeric_by_hand():
    s = pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    r = pl.DataFrame({"x": [2.0, 4.0, 6.0, 8.0]})
    wb = np.ones(4)
    wa = np.array([1.0, 1.0, 1.0, 5.0])
    (row,) = smd(s, ["x"], wb, wa, reference=r)
    # sample: mean 2.5, var 1.25; reference: mean 5, var 5; pooled sd sqrt(3.125)
    sd = math.sqrt((1.25 + 5.0) / 2)
    after_mean = (1 + 2 + 3 + 20) / 8
    assert row["target"] == pytest.approx(5.0)
    assert row["before"] == pytest.approx(2.5)
    assert row["after"] == pytest.approx(after_mean)
    assert row["sd"] == pytest.approx(sd)
    assert row["smd_before"] == pytest.approx((2.5 - 5.0) / sd)
    assert row["smd_after"] == pytest.approx((after_mean - 5.0) / sd)


def test_smd_categorical_by_hand_with_reference_weights():
    s = pl.DataFrame({"g": ["a", "a", "a", "b"]})
    r = pl.DataFrame({"g": ["a", "b", "c"]})
    rw = np.array([1.0, 2.0, 1.0])  # target shares a .25, b .5, c .25
    rows = smd(s, ["g"], np.ones(4), np.array([1.0, 1.0, 1.0, 3.0]), reference=r, reference_weights=rw)
    assert [r_["level"] for r_ in rows] == ["a", "b", "c"]
    a = rows[0]
    assert a["target"] == pytest.approx(0.25)
    assert a["before"] == pytest.approx(0.75)
    assert a["after"] == pytest.approx(0.5)
    sd = math.sqrt((0.75 * 0.25 + 0.25 * 0.75) / 2)
    assert a["smd_before"] == pytest.approx(0.5 / sd)
    assert a["smd_after"] == pytest.approx(0.25 / sd)
    c = rows[2]
    assert c["before"] == 0.0 and c["target"] == pytest.approx(0.25)


def test_smd_against_margins():
    f = _frame()
    margins = [
        FakeMargin("sex", "categorical", ("f", "m"), np.array([50.0, 50.0])),
        FakeMargin("age", "numeric", (), np.array([4000.0])),  # population 100 -> mean 40
    ]
    w = np.ones(5)
    rows = smd(f, ["sex", "age"], w, w, margins=margins)
    by = {(r["variable"], r["level"]): r for r in rows}
    assert by[("sex", "f")]["target"] == pytest.approx(0.5)
    assert by[("sex", "f")]["before"] == pytest.approx(0.4)
    assert by[("age", None)]["target"] == pytest.approx(40.0)
    assert by[("age", None)]["smd_before"] == pytest.approx(0.0)
    assert by[("age", None)]["sd"] == pytest.approx(math.sqrt(200.0))
    with pytest.raises(WeightingError, match="covariate 'region' has no margin"):
        smd(f, ["region"], w, w, margins=margins)
    with pytest.raises(WeightingError, match="needs a target"):
        smd(f, ["age"], w, w)
    with pytest.raises(WeightingError, match="population size"):
        smd(f, ["age"], w, w, margins=[margins[1]])


def test_smd_missing_values_left_out():
    s = pl.DataFrame({"x": [1.0, None, 3.0, float("nan")]})
    r = pl.DataFrame({"x": [2.0, 2.0]})
    (row,) = smd(s, ["x"], np.ones(4), np.ones(4), reference=r)
    assert row["before"] == pytest.approx(2.0)
    assert row["smd_before"] == pytest.approx(0.0)


def test_smd_zero_sd():
    s = pl.DataFrame({"x": [1.0, 1.0]})
    r = pl.DataFrame({"x": [2.0, 2.0]})
    (row,) = smd(s, ["x"], np.ones(2), np.ones(2), reference=r)
    assert row["smd_before"] is None


# -------------------------------------------------------------------------------------------
# everything together
# -------------------------------------------------------------------------------------------


def test_diagnostics_json():
    rng = np.random.default_rng(11)  # SYNTHETIC
    n = 200
    f = pl.DataFrame({"sex": rng.choice(["f", "m"], n), "age": rng.normal(45, 15, n), "region": rng.integers(1, 4, n)})
    w_before = np.ones(n)
    w_after = rng.gamma(2.0, 1.0, n)
    w_after[0] = 500.0
    margins = [
        FakeMargin("sex", "categorical", ("f", "m"), np.array([5000.0, 5000.0])),
        FakeMargin("region", "categorical", ("1", "2", "3"), np.array([3000.0, 3000.0, 4000.0])),
        FakeMargin("age", "numeric", (), np.array([450000.0])),
    ]
    typed = diagnostics(f, w_before, w_after, margins=margins, covariates=["sex", "age"])
    d = typed.to_dict()
    keys = ("variable", "level", "target", "achieved")
    assert typed.margin_table() == [{k: m[k] for k in keys} for m in d["margins"]]
    assert typed.summary() == {k: d["weights"][k] for k in ("min", "max", "mean", "cv") if k in d["weights"]}
    assert set(d) == {"kish_deff", "effective_n", "weights", "margins", "smd", "warnings"}
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    assert d["kish_deff"] == pytest.approx(kish_deff(w_after))
    assert d["effective_n"] == pytest.approx(n / d["kish_deff"])
    assert len(d["margins"]) == 6
    assert len(d["smd"]) == 3
    assert len(d["warnings"]) == 1 and d["warnings"][0].startswith("row 0 ")
    # all values plain Python types
    for row in d["smd"] + d["margins"]:
        for v in row.values():
            assert v is None or type(v) in (str, float, int)


def test_diagnostics_with_reference_and_without_extras():
    rng = np.random.default_rng(12)  # SYNTHETIC
    f = pl.DataFrame({"x": rng.normal(size=50)})
    r = pl.DataFrame({"x": rng.normal(0.5, 1, size=80)})
    d = diagnostics(f, np.ones(50), np.ones(50), covariates=["x"], reference=r).to_dict()
    assert d["margins"] == [] and d["warnings"] == []
    assert d["smd"][0]["smd_before"] == d["smd"][0]["smd_after"]
    json.dumps(d, allow_nan=False)
    d0 = diagnostics(f, np.ones(50), np.ones(50)).to_dict()
    assert d0["smd"] == [] and d0["kish_deff"] == pytest.approx(1.0)
