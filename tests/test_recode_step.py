"""The [recode] step: levels to named groups and numbers to bands, checked on reading study.toml,
applied by the one study pipeline before the design and the weighting (SYNTHETIC data)."""

from __future__ import annotations

import polars as pl
import pytest

from quietpoll.errors import StudyError
from quietpoll.recode import apply_recode, parse_recode
from quietpoll.study import load_study


def test_groups_and_bands():
    recodes = parse_recode(
        {
            "region": {"from": "province", "groups": {"border": ["nh", "ry"], "capital": ["py"]}, "other": "rest"},
            "band": {"from": "age", "bands": [15, 30, 65]},
            "strict": {"from": "province", "groups": {"border": ["nh", "ry"]}},
        }
    )
    frame = pl.DataFrame({"province": ["nh", "py", "sp", None, "ry"], "age": [15.0, 29.5, 30.0, None, 70.0]})
    out = apply_recode(frame, recodes)
    assert out["region"].to_list() == ["border", "capital", "rest", None, "border"]  # missing stays missing
    assert out["band"].to_list() == ["15-29", "15-29", "30-64", None, "65+"]
    assert out["strict"].to_list() == ["border", None, None, None, "border"]
    assert recodes[0].levels == ("border", "capital", "rest") and recodes[1].levels == ("15-29", "30-64", "65+")
    below = apply_recode(pl.DataFrame({"age": [3.0]}), [recodes[1]])
    assert below["band"].to_list() == [None]
    named = parse_recode(
        {
            "b": {"from": "age", "bands": [15, 30], "labels": ["young", "older"], "missing": "?"},
            "w": {"from": "province", "groups": {"yes": ["nh"]}, "other": "no", "missing": "no"},
        }
    )
    out = apply_recode(frame, named)
    assert out["b"].to_list() == ["young", "young", "older", "?", "older"]
    assert out["w"].to_list() == ["yes", "no", "no", "no", "no"]  # skipped by design counts as "no"
    typed = apply_recode(frame, named, as_enum=True)
    assert typed.schema["b"] == pl.Enum(["young", "older", "?"]) and typed.schema["w"] == pl.Enum(["yes", "no"])


@pytest.mark.parametrize(
    "table, key",
    [
        ({"x": {"groups": {"a": ["1"]}}}, "recode.x.from"),
        ({"x": {"from": "p"}}, "recode.x"),
        ({"x": {"from": "p", "groups": {"a": ["1"]}, "bands": [1]}}, "recode.x"),
        ({"x": {"from": "p", "groups": {"a": ["1"], "b": ["1"]}}}, "recode.x.groups"),
        ({"x": {"from": "p", "bands": [3, 2]}}, "recode.x.bands"),
        ({"x": {"from": "p", "bands": [1], "other": "o"}}, "recode.x.other"),
        ({"x": {"from": "p", "groups": {"a": "1"}}}, "recode.x.groups"),
        ({"x": {"from": "p", "groups": {"a": ["1"]}, "colour": 1}}, "recode.x"),
        ({"x": 3}, "recode.x"),
        ({"x": {"from": "p", "bands": [1, 2], "labels": ["a"]}}, "recode.x.labels"),
        ({"x": {"from": "p", "groups": {"a": ["1"]}, "labels": ["a"]}}, "recode.x.labels"),
        ({"x": {"from": "p", "bands": [1], "missing": 0}}, "recode.x.missing"),
    ],
)
def test_bad_recode_names_the_key(table, key):
    with pytest.raises(StudyError) as e:
        parse_recode(table)
    assert e.value.param == key


def test_missing_or_non_numeric_column_is_named():
    with pytest.raises(StudyError, match="'nope', which is not in the data"):
        apply_recode(pl.DataFrame({"a": [1]}), parse_recode({"x": {"from": "nope", "bands": [1]}}))
    with pytest.raises(StudyError, match="bands need a numeric column"):
        apply_recode(pl.DataFrame({"a": ["x"]}), parse_recode({"x": {"from": "a", "bands": [1]}}))


def test_pipeline_applies_recode_before_weighting(tmp_path):
    from quietpoll.pipeline import prepare_study

    pl.DataFrame({"p": ["a"] * 6 + ["b"] * 3 + ["c"] * 1, "y": list(range(10))}).write_csv(tmp_path / "d.csv")
    (tmp_path / "study.toml").write_text(
        '[data]\npath = "d.csv"\n[recode.g]\nfrom = "p"\ngroups = { ab = ["a"], rest = ["b", "c"] }\n'
        '[weighting]\nmethod = "rake"\n[weighting.targets.g]\nab = 50\nrest = 50\n',
        encoding="utf-8",
    )
    cfg = load_study(tmp_path)
    assert [r.name for r in cfg.recode] == ["g"]
    prepared = prepare_study(cfg)
    w = prepared.weighted.weights
    g = prepared.frame["g"].to_list()
    assert sum(x for x, k in zip(w, g) if k == "ab") == pytest.approx(50)
    assert sum(x for x, k in zip(w, g) if k == "rest") == pytest.approx(50)


def test_data_keep_leaves_out_and_records_the_others(tmp_path):
    from quietpoll.pipeline import NOT_KEPT, prepare_study

    pl.DataFrame({"consent": ["yes", "no", "yes", None], "y": [1.0, 2.0, 3.0, 4.0]}).write_csv(tmp_path / "d.csv")
    (tmp_path / "study.toml").write_text('[data]\npath = "d.csv"\nkeep = "consent == \'yes\'"\n', encoding="utf-8")
    prepared = prepare_study(load_study(tmp_path))
    assert prepared.frame["y"].to_list() == [1.0, 3.0]
    assert [(e.row, e.reason) for e in prepared.exclusions] == [(1, NOT_KEPT), (3, NOT_KEPT)]
    assert prepared.final_weights().to_list()[1] is None
    (tmp_path / "study.toml").write_text('[data]\npath = "d.csv"\nkeep = "nope == 1"\n', encoding="utf-8")
    with pytest.raises(StudyError) as e:
        prepare_study(load_study(tmp_path))
    assert e.value.param == "data.keep" and "[data] keep" in str(e.value)
