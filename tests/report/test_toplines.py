"""Topline and crosstab tables of the report on a small SYNTHETIC data set with known counts: shares
against direct weighted sums, the threshold rule with secondary suppression, the dominance rule,
labels in the chosen language, and the Rao-Scott test present."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from quietpoll.design import DesignSpec
from quietpoll.instrument.form import load_instrument
from quietpoll.report.options import parse_options
from quietpoll.report.toplines import column_levels, topline, two_way_table

FORM = """
| survey |
|        | type                 | name    | label::English (en) | label::Korean (ko) |
|        | select_one yn        | watched | Watched?            | 봤습니까?           |
|        | select_multiple dev  | devices | Devices             | 기기               |
|        | integer              | months  | Months              | 개월               |
|        | text                 | remark  | Remark              | 비고               |
| choices |
|         | list_name | name  | label::English (en) | label::Korean (ko) |
|         | yn        | yes   | Yes                 | 예                 |
|         | yn        | no    | No                  | 아니요             |
|         | yn        | maybe | Maybe               | 아마               |
|         | dev       | tv    | TV                  | 텔레비전           |
|         | dev       | usb   | USB                 | USB                |
| settings |
|          | form_id | default_language |
|          | tiny    | English (en)     |
"""


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "form.md").write_text(FORM, encoding="utf-8")
    inst = load_instrument(tmp_path / "form.md")
    rng = np.random.default_rng(9)
    # SYNTHETIC: 60 yes, 34 no, 6 maybe; group g splits them unevenly
    watched = ["yes"] * 60 + ["no"] * 34 + ["maybe"] * 6
    g = ["a"] * 30 + ["b"] * 30 + ["a"] * 20 + ["b"] * 14 + ["a"] * 3 + ["b"] * 3
    devices = rng.choice(["tv", "usb", "tv usb"], 100, p=[0.6, 0.05, 0.35]).tolist()
    frame = pl.DataFrame(
        {
            "watched": watched,
            "g": g,
            "devices": devices,
            "devices/tv": [int("tv" in d) for d in devices],
            "devices/usb": [int("usb" in d) for d in devices],
            "months": rng.integers(0, 20, 100),
            "w": rng.uniform(1, 3, 100),
            "__s_watched": watched,
            "__s_g": g,
        }
    )
    design = DesignSpec(weights="w").build(frame)
    return inst, frame, design


def opts(language="English", **kw):
    return parse_options({"report": dict(min_cell=10, by=["g"], **kw)}, language=language)


def test_select_one_shares_and_threshold(setup):
    inst, frame, design = setup
    t = topline(design, inst, inst.question("watched"), opts())
    w = frame["w"].to_numpy()
    rows = {r["level"]: r for r in t["rows"]}
    assert rows["yes"]["estimate"] == pytest.approx(w[:60].sum() / w.sum(), rel=1e-12)
    # "maybe" has 6 respondents: hidden, and so is the next smallest level, or it could be worked out
    assert rows["maybe"]["suppressed"] and rows["maybe"]["estimate"] is None
    assert rows["no"]["suppressed"] and not rows["yes"]["suppressed"]
    assert t["n"] == 100 and t["title"] == "Watched?"


def test_korean_labels(setup):
    inst, _, design = setup
    t = topline(design, inst, inst.question("watched"), opts("Korean (ko)"))
    assert t["title"] == "봤습니까?" and [r["label"] for r in t["rows"]] == ["예", "아니요", "아마"]


def test_select_multiple_per_option(setup):
    inst, frame, design = setup
    t = topline(design, inst, inst.question("devices"), opts())
    rows = {r["level"]: r for r in t["rows"]}
    w = frame["w"].to_numpy()
    published = 0
    for choice in ("tv", "usb"):
        k = int(frame[f"devices/{choice}"].sum())
        # chosen by fewer than 10, or not chosen by fewer than 10: hidden (either share gives the other)
        assert rows[choice]["suppressed"] == (0 < k < 10 or 0 < 100 - k < 10), (choice, k)
        if not rows[choice]["suppressed"]:
            x = frame[f"devices/{choice}"].to_numpy()
            assert rows[choice]["estimate"] == pytest.approx((w * x).sum() / w.sum(), rel=1e-9)
            published += 1
    assert published >= 1 and rows["tv"]["suppressed"]


def test_numeric_mean_and_dominance(setup):
    inst, frame, design = setup
    t = topline(design, inst, inst.question("months"), opts())
    w, y = frame["w"].to_numpy(), frame["months"].to_numpy()
    assert t["rows"][0]["estimate"] == pytest.approx((w * y).sum() / w.sum(), rel=1e-12)
    # one respondent with an enormous weight and value dominates the total: suppressed
    heavy = frame.with_columns(
        pl.when(pl.int_range(100) == 0).then(10_000.0).otherwise(pl.col("w")).alias("w"),
        pl.when(pl.int_range(100) == 0).then(19).otherwise(pl.col("months")).alias("months"),
    )
    t = topline(DesignSpec(weights="w").build(heavy), inst, inst.question("months"), opts())
    assert t["rows"][0]["suppressed"] and t["suppression"]["dominance"]


def test_crosstab_cells_and_test(setup):
    inst, frame, design = setup
    t = two_way_table(design, inst, "watched", "g", opts(), rs_design=design)
    w = frame["w"].to_numpy()
    a = (frame["g"] == "a").to_numpy()
    yes = (frame["watched"] == "yes").to_numpy()
    assert t["cells"][0][0]["share"] == pytest.approx(w[a & yes].sum() / w[a].sum(), rel=1e-12)
    # maybe: 3 and 3 respondents -> hidden; the no cells in the same columns hide with them
    assert all(c["suppressed"] for c in t["cells"][2])
    assert sum(c["suppressed"] for c in t["cells"][1]) >= 1
    assert [c["n"] for c in t["cols"]] == [53, 47]
    assert 0 <= t["test"]["p_value"] <= 1 and t["test"]["ndf"] > 0


def test_levels_follow_the_form(setup):
    inst, frame, _ = setup
    lv = column_levels(frame, "watched", inst, "English (en)")
    assert lv.levels == ("yes", "no", "maybe") and lv.labels == ("Yes", "No", "Maybe")
    assert lv.codes[0] == 0 and lv.codes[99] == 2
    other = column_levels(frame, "g", inst, "English (en)")
    assert other.levels == ("a", "b")


def test_p_percent_rule_for_means(setup):
    inst, frame, design = setup
    # two respondents hold almost all of the total: the p% rule hides the mean even with a lax dominance rule
    big = frame.with_columns(
        pl.when(pl.int_range(100) < 2).then(5_000.0).otherwise(pl.col("w")).alias("w"),
        pl.when(pl.int_range(100) < 2).then(19).otherwise(pl.col("months")).alias("months"),
    )
    des = DesignSpec(weights="w").build(big)
    lax = opts(dominance=[1, 99])
    assert not topline(des, inst, inst.question("months"), lax)["rows"][0]["suppressed"]
    strict = opts(dominance=[1, 99], p_percent=50)
    assert topline(des, inst, inst.question("months"), strict)["rows"][0]["suppressed"]


def test_indicator_on_a_by_column_is_not_broken_down_by_itself(setup):
    from quietpoll.report.indicators import indicator_rows

    inst, frame, design = setup
    o = parse_options(
        {
            "report": {
                "min_cell": 10,
                "by": ["g", "watched"],
                "indicators": [{"id": "w", "label": "Watched", "variable": "watched", "level": "yes"}],
            }
        },
        language="English (en)",
    )
    crosstabs = {("watched", "g"): two_way_table(design, inst, "watched", "g", o, rs_design=design)}
    rows = indicator_rows(design, DesignSpec().build(frame), inst, o, crosstabs)
    assert [tuple(r["domain"]) for r in rows] == [(), ("g",), ("g",)]
    w = frame["w"].to_numpy()
    assert rows[0]["estimate"] == pytest.approx(w[:60].sum() / w.sum(), rel=1e-12)
    assert not rows[0]["suppressed"] and rows[0]["naive_estimate"] == pytest.approx(0.6)
