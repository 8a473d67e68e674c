"""quietpoll.quality.validation: each rule found at its row, column and value."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from quietpoll.instrument.exports import read_responses
from quietpoll.instrument.form import Choice, Instrument, Question
from quietpoll.instrument.typing import labels, type_responses
from quietpoll.quality.validation import RULES, validate

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


# --------------------------------------------------------------------------------------------------


def _instrument() -> Instrument:
    yes_no = (Choice("yes", {"English": "Yes", "French": "Oui"}), Choice("no", {"English": "No", "French": "Non"}))
    fruit = (Choice("apple", {"English": "Apple"}), Choice("pear", {"English": "Pear"}), Choice("fig", {}))
    qs = (
        Question("age", "integer", constraint=". >= 0 and . <= 120", constraint_message="age 0-120", required=True),
        Question("consent", "select_one", list_name="yes_no", required=True),
        Question("fruits", "select_multiple", list_name="fruit"),
        Question("why", "text", relevant="${consent} = 'no'"),
        Question("income", "decimal", group=("work",), group_relevant=("${age} >= 18",), required="${consent} = 'yes'"),
        Question("visit", "date"),
        Question("fancy", "text", relevant="pulldata('f', 'c', 'k', ${why}) = 'x'"),
        Question("instanceID", "calculate", group=("meta",)),
    )
    return Instrument(
        form_id="t",
        title="T",
        version="1",
        languages=("English", "French"),
        default_language="English",
        questions=qs,
        choices={"yes_no": yes_no, "fruit": fruit},
        repeats=(),
        source="t.xlsx",
    )


def _clean() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "age": ["30", "45", "20"],
            "consent": ["yes", "no", "yes"],
            "fruits": ["apple pear", "", None],
            "why": [None, "busy", None],
            "income": ["100.5", None, "3"],
            "visit": ["2024-03-01", None, "2024-03-02"],
            "fancy": [None, None, None],
        }
    )


def _only(result, rule):
    return [p for p in result.to_dict()["problems"] if p["rule"] == rule]


def test_clean_data_has_no_problems():
    result = validate(_clean(), _instrument())
    assert result.n_rows == 3
    assert result.to_dict()["problems"] == []
    # the pulldata() relevance is unsupported: listed once, never applied
    assert [u["question"] for u in result.to_dict()["unsupported"]] == ["fancy"]
    assert result.to_dict()["unsupported"][0]["expression"] == "pulldata('f', 'c', 'k', ${why}) = 'x'"


def test_type_violations():
    df = _clean().with_columns(
        pl.Series("age", ["30", "seven", "20"]),
        pl.Series("income", ["100.5", None, "lots"]),
        pl.Series("visit", ["2024-03-01", "yesterday", "2024-02-30"]),
    )
    got = {(p["row"], p["column"], p["value"]) for p in _only(validate(df, _instrument()), "type")}
    assert got == {(1, "age", "seven"), (2, "income", "lots"), (1, "visit", "yesterday"), (2, "visit", "2024-02-30")}


def test_integer_accepts_whole_floats_and_rejects_fractions():
    df = _clean().with_columns(pl.Series("age", [30.0, 45.5, 20.0]))
    got = [(p["row"], p["value"]) for p in _only(validate(df, _instrument()), "type")]
    assert got == [(1, "45.5")]


def test_choice_violations():
    df = _clean().with_columns(
        pl.Series("consent", ["yes", "no", "maybe"]),
        pl.Series("fruits", ["apple kiwi", "pear", None]),
    )
    got = {(p["row"], p["column"], p["value"]) for p in _only(validate(df, _instrument()), "choice")}
    assert got == {(2, "consent", "maybe"), (0, "fruits", "apple kiwi")}


def test_constraint_violation_only_on_answered_cells():
    df = _clean().with_columns(pl.Series("age", ["30", "130", None]))
    result = validate(df, _instrument())
    got = [(p["row"], p["column"], p["value"], p["message"]) for p in _only(result, "constraint")]
    assert got == [(1, "age", "130", "age 0-120")]
    # the missing age is a required problem, not a constraint one
    assert [(p["row"], p["column"]) for p in _only(result, "required")] == [(2, "age")]


def test_relevance_violation_including_group_relevance():
    df = _clean().with_columns(
        pl.Series("why", ["because", "busy", None]),  # row 0: consent = yes, so why is not relevant
        pl.Series("age", ["30", "45", "16"]),  # row 2: under 18, the work group is not relevant
    )
    got = {(p["row"], p["column"], p["value"]) for p in _only(validate(df, _instrument()), "relevance")}
    assert got == {(0, "why", "because"), (2, "income", "3")}


def test_required_expression_and_relevance():
    df = _clean().with_columns(pl.Series("income", [None, None, None]), pl.Series("age", ["30", "45", "16"]))
    got = [(p["row"], p["column"], p["value"]) for p in _only(validate(df, _instrument()), "required")]
    # row 0: consent yes and adult -> required; row 1: consent no; row 2: group not relevant
    assert got == [(0, "income", None)]


def test_unknown_and_missing_columns():
    df = _clean().drop("visit").with_columns(pl.lit("x").alias("mystery"), pl.lit("u").alias("_uuid"))
    result = validate(df, _instrument())
    assert [(p["row"], p["column"]) for p in _only(result, "unknown_column")] == [(None, "mystery")]
    assert [(p["row"], p["column"]) for p in _only(result, "missing_column")] == [(None, "visit")]


def test_indicator_columns_are_known():
    df = type_responses(_clean(), _instrument())
    assert df.schema["fruits/apple"] == pl.UInt8
    assert _only(validate(df, _instrument()), "unknown_column") == []


def test_unsupported_listed_once_per_question_and_never_decides():
    inst = _instrument()
    df = pl.concat([_clean()] * 50)
    df = df.with_columns(pl.lit("set").alias("fancy"))
    result = validate(df, inst)
    assert len(result.to_dict()["unsupported"]) == 1
    assert not [p for p in result.to_dict()["problems"] if p["column"] == "fancy"]


def test_result_is_json_and_rules_are_known():
    df = _clean().with_columns(pl.Series("age", ["30", "seven", "200"]), pl.lit(1).alias("extra"))
    result = validate(df, _instrument(), today="2024-05-01")
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    assert {p["rule"] for p in result.to_dict()["problems"]} <= set(RULES)
    assert all(set(p) == {"row", "column", "rule", "value", "message"} for p in result.to_dict()["problems"])


def test_typed_frame_validates_the_same():
    inst = _instrument()
    df = _clean().with_columns(pl.Series("consent", ["yes", "no", "maybe"]))
    typed = type_responses(df, inst)
    assert typed.schema["consent"] == pl.String  # an unknown value keeps the column as text
    assert typed.schema["age"] == pl.Int64 and typed.schema["visit"] == pl.Date
    assert validate(typed, inst).to_dict()["problems"] == validate(df, inst).to_dict()["problems"]


def test_type_responses_dtypes_and_labels():
    inst = _instrument()
    typed = type_responses(_clean(), inst)
    assert typed.schema["consent"] == pl.Enum(["yes", "no"])
    assert typed.schema["income"] == pl.Float64
    assert typed["fruits/pear"].to_list() == [1, 0, None]
    assert typed["fruits/fig"].to_list() == [0, 0, None]
    assert labels(inst, "consent") == {"yes": "Yes", "no": "No"}
    assert labels(inst, "consent", "French") == {"yes": "Oui", "no": "Non"}
    assert labels(inst, "fruits")["fig"] == "fig"


def test_datetime_typing_with_offsets():
    inst = Instrument("t", "T", None, (), None, (Question("start", "start"),), {}, (), "t")
    df = pl.DataFrame({"start": ["2024-03-14T09:50:58.123+01:00", "2024-03-14T10:00:00", None]})
    typed = type_responses(df, inst)
    assert typed.schema["start"] == pl.Datetime("us")
    assert str(typed["start"][0]) == "2024-03-14 08:50:58.123000"


def test_kobo_export_end_to_end(tmp_path):
    inst = _instrument()
    p = tmp_path / "kobo.csv"
    pl.DataFrame(
        {
            "age": [30, 150],
            "consent": ["yes", "no"],
            "fruits/apple": [1, 0],
            "fruits/pear": [0, 0],
            "fruits/fig": [1, 0],
            "why": [None, "busy"],
            "work/income": [10.0, None],
            "visit": ["2024-01-01", None],
            "fancy": [None, None],
            "_uuid": ["a", "b"],
            "_index": [1, 2],
        }
    ).write_csv(p)
    r = read_responses(p, inst)
    assert r.main["fruits"].to_list() == ["apple fig", ""]
    result = validate(r.main, inst)
    assert [(p["row"], p["column"], p["rule"]) for p in result.to_dict()["problems"]] == [(1, "age", "constraint")]


@pytest.mark.skipif(
    not (CORPUS / "exports").is_dir(), reason="../shared/corpus not present (shared corpus of published exports)"
)
def test_corpus_export_validates_to_json():
    from quietpoll.instrument.form import load_instrument

    d = CORPUS / "exports" / "onadata" / "tutorial_w_repeats"
    inst = load_instrument(d / "tutorial_w_repeats.xlsx")
    r = read_responses(d / "tutorial_w_repeats.csv", inst)
    result = validate(type_responses(r.main, inst), inst)
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    assert result.n_rows == r.main.height
