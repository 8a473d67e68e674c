"""Labelled exports (quietpoll.report.exports) read back in every format with their labels
(SYNTHETIC demo study)."""

from __future__ import annotations

import json

import polars as pl
import pyarrow.parquet as pq
import pyreadstat
import pytest

from quietpoll.demo_study import make_study
from quietpoll.errors import ReportError, StudyError
from quietpoll.report.exports import FORMATS, export_study, labelled_responses, legal_names

PROVINCE_Q = "In which province did you last live in North Korea?"
PROVINCES_EN = [
    "Pyongyang",
    "South Pyongan",
    "North Pyongan",
    "Chagang",
    "South Hwanghae",
    "North Hwanghae",
    "Kangwon",
    "South Hamgyong",
    "North Hamgyong",
    "Ryanggang",
]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("exp") / "study")


@pytest.fixture(scope="module")
def source(study):
    return pl.read_csv(study / "responses.csv", infer_schema_length=None)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_readstat_formats_keep_codes_and_labels(study, source, tmp_path, fmt):
    out = export_study(study, fmt, tmp_path / f"r.{fmt}").path
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    df, meta = reader(out, output_format="polars")
    assert df.height == 150
    assert meta.column_names_to_labels["province"] == PROVINCE_Q
    assert {int(k): v for k, v in meta.variable_value_labels["province"].items()} == dict(
        enumerate(PROVINCES_EN, start=1)
    )
    # codes are the choice positions: decode and compare with the file's choice names
    order = [
        "pyongyang",
        "south_pyongan",
        "north_pyongan",
        "chagang",
        "south_hwanghae",
        "north_hwanghae",
        "kangwon",
        "south_hamgyong",
        "north_hamgyong",
        "ryanggang",
    ]
    assert [order[int(c) - 1] for c in df["province"]] == source["province"].to_list()
    # select_multiple: the answer as text plus labelled 0/1 indicators, null where not asked
    usb = df["devices_used_usb"]
    assert usb.null_count() == (source["devices_used"].is_null()).sum()
    expect = source["devices_used"].str.contains(r"(^| )usb( |$)").cast(pl.Float64)
    assert usb.cast(pl.Float64).to_list() == expect.to_list()
    assert {int(k): v for k, v in meta.variable_value_labels["devices_used_usb"].items()} == {
        0: "not selected",
        1: "selected",
    }
    assert meta.column_names_to_labels["devices_used_usb"].endswith(": USB drive")
    assert "SYNTHETIC" in meta.file_label
    assert df["le_count"].to_list() == source["le_count"].to_list()


def test_dta_in_korean_with_long_labels_shortened(study, tmp_path):
    out = export_study(study, "dta", tmp_path / "k.dta", language="Korean").path
    df, meta = pyreadstat.read_dta(out, output_format="polars")
    assert meta.variable_value_labels["province"][10] == "량강도"
    assert meta.column_names_to_labels["province"] == "북한에서 마지막으로 살았던 도(직할시)는 어디입니까?"
    long = meta.column_names_to_labels["le_count_treat"]  # the list question is longer than Stata's 80
    assert len(long) <= 80 and long.endswith("...")
    assert all(len(c) <= 28 for c in df.columns)
    # the report's rule for a language: its code finds it too
    by_code = export_study(study, "dta", tmp_path / "ko.dta", language="ko").path
    assert pyreadstat.read_dta(by_code, metadataonly=True)[1].column_names_to_labels == meta.column_names_to_labels


def test_weighted_export_adds_final_weight(study, tmp_path):
    df, meta = pyreadstat.read_sav(
        export_study(study, "sav", tmp_path / "w.sav", weighted=True).path, output_format="polars"
    )
    w = df["final_weight"]
    assert w.null_count() == 4  # the flagged near-duplicates
    assert w.drop_nulls().min() > 0
    assert "weight" in meta.column_names_to_labels["final_weight"].lower()


def test_xlsx_has_data_variables_and_value_labels(study, source, tmp_path):
    out = export_study(study, "xlsx", tmp_path / "r.xlsx").path
    data = pl.read_excel(out, sheet_name="data")
    assert data.height == 150 and data["province"].to_list() == source["province"].to_list()
    variables = pl.read_excel(out, sheet_name="variables")
    row = variables.filter(pl.col("name") == "province").row(0, named=True)
    assert row["label"] == PROVINCE_Q and row["type"] == "select_one"
    values = pl.read_excel(out, sheet_name="value_labels").filter(pl.col("name") == "province")
    assert values["label"].to_list() == PROVINCES_EN
    assert values["code"].cast(pl.Int64).to_list() == list(range(1, 11))
    about = pl.read_excel(out, sheet_name="about")
    assert "SYNTHETIC" in about["about"][0]


def test_csv_with_codebook_sidecar(study, source, tmp_path):
    res = export_study(study, "csv", tmp_path / "r.csv")
    data = pl.read_csv(res.path, infer_schema_length=None)
    assert data["sex"].to_list() == source["sex"].to_list()
    assert "origins/south_korea" in data.columns
    book = pl.read_csv(res.sidecar, infer_schema_length=None)
    sex = book.filter(pl.col("variable") == "sex")
    assert sex["label"][0] == "Sex"
    assert dict(zip(sex["value"].drop_nulls(), sex["value_label"].drop_nulls())) == {"male": "Male", "female": "Female"}


def test_parquet_labels_in_field_and_schema_metadata(study, tmp_path):
    out = export_study(study, "parquet", tmp_path / "r.parquet").path
    schema = pq.read_schema(out)
    field = schema.field("province")
    assert field.metadata[b"label"].decode() == PROVINCE_Q
    assert json.loads(field.metadata[b"value_labels"])["ryanggang"] == "Ryanggang"
    assert schema.metadata[b"quietpoll.synthetic"] == b"true"
    book = json.loads(schema.metadata[b"quietpoll.codebook"])
    assert any(v["name"] == "sex" and v["label"] == "Female" for v in book["value_labels"])
    assert pq.read_table(out).num_rows == 150


def test_default_output_is_named_synthetic(study):
    res = export_study(study, "csv")
    assert res.path.parent == study / "exports" and "SYNTHETIC" in res.path.name


def test_labelled_responses_types(study):
    data = labelled_responses(study)
    assert data.frame.schema["year_left"] == pl.Int64
    assert data.frame.schema["start"] == pl.Datetime("us")
    assert data.frame.schema["today"] == pl.Date
    assert data.codes["sex"] == {"male": 1, "female": 2}
    assert data.synthetic


def test_legal_names():
    names = legal_names(["a/b", "a_b", "_meta", "x" * 40, "x" * 40 + "y"], "dta")
    assert names["a/b"] == "a_b" and names["a_b"] == "a_b_1" and names["_meta"] == "v_meta"
    assert len(set(names.values())) == 5 and all(len(n) <= 28 for n in names.values())
    assert legal_names(["x" * 40], "sav")["x" * 40] == "x" * 40


def test_unknown_format_and_language(study):
    """The Python API names its parameters (the CLI writes them as --to, --language: tests/cli)."""
    with pytest.raises(ReportError, match="^to 'spss'.*xlsx") as e:
        export_study(study, "spss")
    assert e.value.param == "to"
    with pytest.raises(ReportError, match="^language 'French'") as e:
        export_study(study, "csv", language="French")
    assert e.value.param == "language"
    assert "parquet" in FORMATS


def test_study_missing_its_data(tmp_path):
    s = make_study(tmp_path / "s")
    (s / "responses.csv").unlink()
    with pytest.raises(StudyError, match="missing its data"):
        export_study(s, "csv")


def test_a_value_outside_the_choices_is_kept_as_text(tmp_path):
    s = make_study(tmp_path / "s")
    data = pl.read_csv(s / "responses.csv", infer_schema_length=None)
    data.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("maybe")).otherwise(pl.col("sex")).alias("sex")
    ).write_csv(s / "responses.csv")
    labelled = labelled_responses(s)
    assert "sex" not in labelled.codes and "sex" not in labelled.value_labels
    assert any(n.startswith("sex:") for n in labelled.notes)
    df, meta = pyreadstat.read_sav(export_study(s, "sav", tmp_path / "r.sav").path, output_format="polars")
    assert df["sex"][0] == "maybe" and "sex" not in meta.variable_value_labels
