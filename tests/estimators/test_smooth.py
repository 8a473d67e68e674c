"""Smooth statistics on columns typed by the form."""

import polars as pl
import pytest

import quietpoll as qp


def test_proportion_of_an_enum_column_keeps_its_level_order():
    """Responses typed by the form hold choices as polars Enums: levels come in the Enum's order (as
    a factor's), unused levels included, and the shares equal those of the same column as text."""
    text = pl.DataFrame({"a": ["no", "yes", "yes", None, "no", "yes"], "w": [1.0, 2, 1, 1, 3, 1]})
    enum = text.with_columns(pl.col("a").cast(pl.Enum(["yes", "no", "refused"])))
    t_text = qp.estimate(text, qp.DesignSpec(weights="w"), prop=["a"]).rows
    t_enum = qp.estimate(enum, qp.DesignSpec(weights="w"), prop=["a"]).rows
    assert [r.level for r in t_enum] == ["yes", "no", "refused"]
    by_level = {r.level: r for r in t_text}
    for r in t_enum[:2]:
        assert r.estimate == pytest.approx(by_level[r.level].estimate, rel=1e-12)
        assert r.se == pytest.approx(by_level[r.level].se, rel=1e-12)
    assert t_enum[2].estimate == 0.0
