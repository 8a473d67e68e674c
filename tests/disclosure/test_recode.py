"""Recodes for a release: age bands, year bands, top-coding, bad specifications. SYNTHETIC data."""

from __future__ import annotations

import polars as pl
import pytest

from quietpoll.disclosure.recode import Recode, apply_recodes, parse_recode
from quietpoll.errors import DisclosureError


def test_bands_labels_and_nulls():
    df = pl.DataFrame({"age": [15, 18, 29, 30, 59, 60, 91, None]})
    out, rep = apply_recodes(df, [parse_recode("age=bands:18,30,60")])
    assert out.get_column("age").to_list() == ["<18", "18-29", "18-29", "30-59", "30-59", "60+", "60+", None]
    assert rep == [{"column": "age", "kind": "bands", "spec": "bands:18,30,60", "values_changed": 7}]


def test_bands_with_fractional_breaks():
    df = pl.DataFrame({"x": [0.1, 1.0, 2.5]})
    out, _ = apply_recodes(df, [parse_recode("x=bands:0.5,2.5")])
    assert out.get_column("x").to_list() == ["<0.5", "[0.5, 2.5)", ">=2.5"]


def test_year_bands_aligned_on_width():
    df = pl.DataFrame({"year_left": [2009, 2010, 2014, 2015, 2023, None]})
    out, rep = apply_recodes(df, [parse_recode("year_left=5", "years")])
    assert out.get_column("year_left").to_list() == [
        "2005-2009",
        "2010-2014",
        "2010-2014",
        "2015-2019",
        "2020-2024",
        None,
    ]
    assert rep[0]["spec"] == "years:5"


def test_top_code_keeps_numbers():
    df = pl.DataFrame({"months": [1, 12, 24, 25, 60, None], "s": ["3", "30", None, "7", "8", "9"]})
    out, rep = apply_recodes(df, [parse_recode("months=top:24"), parse_recode("s=24", "top")])
    assert out.get_column("months").to_list() == [1, 12, 24, 24, 24, None]
    assert out.schema["months"] == pl.Int64
    assert out.get_column("s").to_list() == [3.0, 24.0, None, 7.0, 8.0, 9.0]
    assert [r["values_changed"] for r in rep] == [2, 1]


@pytest.mark.parametrize(
    "spec,needle",
    [
        ("age", "COL=SPEC"),
        ("=bands:1,2", "no column"),
        ("age=bands", "KIND:ARGS"),
        ("age=cuts:1,2", "unknown kind"),
        ("age=bands:", "at least one break"),
        ("age=bands:30,20", "increase"),
        ("age=bands:1,x", "not a number"),
        ("age=years:2.5", "whole number"),
        ("age=years:1", "at least 2"),
        ("age=top:inf", "finite"),
    ],
)
def test_bad_specs(spec, needle):
    with pytest.raises(DisclosureError, match=needle):
        parse_recode(spec)


def test_bad_columns():
    df = pl.DataFrame({"age": [1, 2], "name": ["a", "b"], "when": [None, None]}).with_columns(
        pl.col("when").cast(pl.Date)
    )
    with pytest.raises(DisclosureError, match="nope"):
        apply_recodes(df, [Recode("nope", "top", value=1.0)])
    with pytest.raises(DisclosureError, match="'name'.*not numbers"):
        apply_recodes(df, [parse_recode("name=top:1")])
    with pytest.raises(DisclosureError, match="'when'.*not numeric"):
        apply_recodes(df, [parse_recode("when=top:1")])
    with pytest.raises(DisclosureError, match="twice"):
        apply_recodes(df, [parse_recode("age=top:1"), parse_recode("age=years:5")])


@pytest.mark.parametrize("column", ["age", "score"])
def test_top_code_without_value_is_refused(column):
    # a Recode built in Python without its value: refused by name, never a silent no-op or a TypeError
    df = pl.DataFrame({"age": [1, 2], "score": [1.5, 2.5]})
    with pytest.raises(DisclosureError, match=f"top-code of '{column}' has no value"):
        apply_recodes(df, [Recode(column, "top")])
