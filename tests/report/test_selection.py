"""Selection bounds on the report's headline shares (report/selection.py): each headline proportion of the
SYNTHETIC demo carries MUBP's range over phi in [0, 1] from the study's [weighting] margins, equal to
quietpoll.estimators.mubp called by hand; the page shows it with its explanation, in English and in Korean;
a target variable that cannot serve (merged levels, levels missing, not a column) is left out."""

from __future__ import annotations

import html as htmllib
import re

import numpy as np
import polars as pl
import pytest

from quietpoll.estimators.mubp import mubp
from quietpoll.report.html import render_html
from quietpoll.report.selection import add_selection_bounds, population_shares


def _frame(n=400, seed=3):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], n, p=[0.3, 0.7])
    region = rng.choice(["north", "south", "east"], n)
    p = 0.2 + 0.3 * (sex == "female") + 0.2 * (region == "north")
    watched = np.where(rng.random(n) < p, "yes", "no")
    return pl.DataFrame({"sex": sex, "region": region, "watched": watched, "tv": (rng.random(n) < p).astype(int)})


TARGETS = {"sex": {"male": 490, "female": 510}, "region": {"north": 0.2, "south": 0.5, "east": 0.3}}


def test_population_shares_normalise_and_skip_what_cannot_serve():
    f = _frame()
    shares = population_shares(TARGETS, f, merged=set())
    assert shares["sex"] == pytest.approx({"male": 0.49, "female": 0.51})
    assert shares["region"] == pytest.approx(TARGETS["region"])
    assert set(population_shares(TARGETS, f, merged={"region"})) == {"sex"}  # merged for min_cell
    assert set(population_shares({**TARGETS, "age": {"a": 1}}, f, merged=set())) == {"sex", "region"}  # no column
    partial = {"sex": {"male": 0.5}, "region": TARGETS["region"]}  # the data's 'female' has no target
    assert set(population_shares(partial, f, merged=set())) == {"region"}


def test_headline_rows_get_mubp_equal_to_the_estimator():
    f = _frame()
    shares = population_shares(TARGETS, f, merged=set())
    rows = [
        {"id": "w", "kind": "proportion", "variable": "watched", "level": "yes", "domain": {}},
        {"id": "t", "kind": "mean", "share": True, "variable": "tv", "domain": {}},
        {"id": "w", "kind": "proportion", "variable": "watched", "level": "yes", "domain": {"sex": "male"}},
        {"id": "l", "kind": "list_experiment", "variable": "watched", "domain": {}},
    ]
    add_selection_bounds(rows, f, shares, population=1_000_000)
    means = {f"factor({v}){k}": s for v in shares for k, s in shares[v].items()}
    data = f.with_columns(mubp_outcome_=(pl.col("watched") == "yes").cast(pl.Float64))
    want = mubp(data, "mubp_outcome_ ~ factor(region) + factor(sex)", means, population_size=1_000_000)
    assert rows[0]["mubp"]["low"] == pytest.approx(want.interval[0], rel=1e-12)
    assert rows[0]["mubp"]["high"] == pytest.approx(want.interval[1], rel=1e-12)
    assert rows[0]["mubp"]["sample_mean"] == pytest.approx(float((f["watched"] == "yes").mean()))
    want_tv = mubp(
        f.with_columns(mubp_outcome_=pl.col("tv").cast(pl.Float64)),
        "mubp_outcome_ ~ factor(region) + factor(sex)",
        means,
        population_size=1_000_000,
    )
    assert rows[1]["mubp"]["low"] == pytest.approx(want_tv.interval[0], rel=1e-12)
    assert "mubp" not in rows[2] and "mubp" not in rows[3]  # by-group and sensitive rows: direct only


def test_a_share_mubp_cannot_measure_gets_none():
    f = _frame().with_columns(watched=pl.lit("yes"))  # always given: MUBP is not defined
    rows = [{"id": "w", "kind": "proportion", "variable": "watched", "level": "yes", "domain": {}}]
    add_selection_bounds(rows, f, population_shares(TARGETS, f, merged=set()), None)
    assert rows[0]["mubp"] is None


@pytest.mark.parametrize("language, words", [("English", "Selection bias (MUBP"), ("Korean", "선택 편향(MUBP")])
def test_demo_headline_shares_carry_the_range_on_the_page(built, language, words):
    headline = [r for r in built.data["indicators"] if not r["domain"]]
    shares = [r for r in headline if r["kind"] == "proportion" or (r["kind"] == "mean" and r["share"])]
    assert shares and all(r["mubp"] and r["mubp"]["low"] <= r["mubp"]["high"] for r in shares)
    for r in shares:  # the bias of the unweighted share lies within what the share allows
        assert r["mubp"]["sample_mean"] - 1 <= r["mubp"]["low"] and r["mubp"]["high"] <= r["mubp"]["sample_mean"]
    page = render_html(dict(built.data, language=language))
    table = re.search(r'<table id="headline-table">(.*?)</table>', page, re.S).group(1)
    assert words in htmllib.unescape(table)
    cells = dict(re.findall(r'<tr data-indicator="([^"]+)">.*?<td class="num mubp">([^<]*)</td>', table, re.S))
    for r in shares:
        lo, hi = 100 * r["mubp"]["low"], 100 * r["mubp"]["high"]
        assert htmllib.unescape(cells[r["id"]]) == f"{lo:+.1f} – {hi:+.1f}"
    note = re.search(r'<p class="note" id="mubp-note">(.*?)</p>', page, re.S).group(1)
    assert words in htmllib.unescape(note) and "province_group, sex" in note
    dash = {"English": "A dash: not measured", "Korean": "줄표: 측정하지 않음"}[language]
    assert dash in htmllib.unescape(note)  # the list-experiment and RR rows show a dash: the note says why
