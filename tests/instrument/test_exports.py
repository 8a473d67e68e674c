"""quietpoll.instrument.exports: Kobo, ODK and plain exports mapped back to the form's questions."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest

from quietpoll.errors import ValidationError
from quietpoll.instrument.exports import Responses, classify_column, read_responses
from quietpoll.instrument.form import Choice, Instrument, Question

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
EXPORTS = CORPUS / "exports"
needs_corpus = pytest.mark.skipif(
    not EXPORTS.is_dir(), reason="../shared/corpus not present (shared corpus of published exports)"
)


def _instrument() -> Instrument:
    colours = (Choice("red", {}), Choice("blue", {}), Choice("green", {}))
    qs = (
        Question("name", "text", group=("hh",)),
        Question("age", "integer", group=("hh", "person")),
        Question("colours", "select_multiple", list_name="colours", group=("hh",)),
        Question("where", "geopoint"),
        Question("child_name", "text", group=("children",), repeat="children"),
        Question("child_age", "integer", group=("children",), repeat="children"),
    )
    return Instrument("hh", "HH", None, (), None, qs, {"colours": colours}, ("children",), "hh.xlsx")


def test_kobo_csv(tmp_path):
    p = tmp_path / "export.csv"
    pl.DataFrame(
        {
            "start": ["2024-01-01"],
            "hh/name": ["Ann"],
            "hh/person/age": [33],
            "hh/colours": ["red green"],
            "hh/colours/red": [1],
            "hh/colours/blue": [0],
            "hh/colours/green": [1],
            "where": ["1 2 3 4"],
            "_where_latitude": [1.0],
            "_where_longitude": [2.0],
            "_where_altitude": [3.0],
            "_where_precision": [4.0],
            "_id": [7],
            "_uuid": ["u"],
            "_submission_time": ["2024-01-01T00:00:00"],
            "_validation_status": [None],
            "_index": [1],
            "surprise": ["x"],
        }
    ).write_csv(p)
    r = read_responses(p, _instrument())
    assert isinstance(r, Responses) and r.source_format == "kobo"
    assert r.columns["name"] == "name" and r.columns["age"] == "age"
    assert r.columns["colours/red"] == "colours" and r.columns["where/latitude"] == "where"
    assert r.original["age"] == "hh/person/age"
    assert set(r.meta) == {"_id", "_uuid", "_submission_time", "_validation_status", "_index"}
    assert r.unknown == ("start", "surprise")  # start is not a question of this form
    assert r.main["name"].to_list() == ["Ann"]


def test_kobo_xlsx_with_repeat_sheet(tmp_path):
    pytest.importorskip("xlsxwriter")
    import xlsxwriter

    p = tmp_path / "export.xlsx"
    wb = xlsxwriter.Workbook(p)
    main = wb.add_worksheet("HH")
    for j, h in enumerate(["hh/name", "hh/colours/red", "hh/colours/blue", "hh/colours/green", "_uuid", "_index"]):
        main.write(0, j, h)
    for j, v in enumerate(["Ann", 1, 0, 1, "u1", 1]):
        main.write(1, j, v)
    rep = wb.add_worksheet("children")
    headers = ["children/child_name", "children/child_age", "_index", "_parent_index", "_parent_table_name"]
    for j, h in enumerate(headers):
        rep.write(0, j, h)
    for i, row in enumerate([["Bo", 3, 1, 1, "HH"], ["Cy", 5, 2, 1, "HH"]], start=1):
        for j, v in enumerate(row):
            rep.write(i, j, v)
    wb.close()
    r = read_responses(p, _instrument())
    # colours arrived only as 0/1 columns: the space-separated answer is rebuilt
    assert r.main["colours"].to_list() == ["red green"]
    kids = r.repeats["children"]
    assert kids["child_name"].to_list() == ["Bo", "Cy"] and kids["_parent_index"].to_list() == [1, 1]
    assert r.repeat_columns["children"] == {"child_name": "child_name", "child_age": "child_age"}


def test_odk_csv_with_repeat_file(tmp_path):
    p = tmp_path / "hh.csv"
    pl.DataFrame(
        {
            "SubmissionDate": ["Apr 26, 2018 8:58:20 AM"],
            "hh-name": ["Ann"],
            "hh-person-age": [33],
            "hh-colours": ["blue"],
            "hh-colours/blue": [1],
            "where-Latitude": [1.5],
            "where-Longitude": [2.5],
            "where-Altitude": [0.0],
            "where-Accuracy": [5.0],
            "meta-instanceID": ["uuid:1"],
            "SET-OF-children": ["uuid:1/children"],
            "KEY": ["uuid:1"],
        }
    ).write_csv(p)
    pl.DataFrame(
        {
            "child_name": ["Bo"],
            "child_age": [3],
            "PARENT_KEY": ["uuid:1"],
            "KEY": ["uuid:1/children[1]"],
            "SET-OF-children": ["uuid:1/children"],
        }
    ).write_csv(tmp_path / "hh-children.csv")
    r = read_responses(p, _instrument())
    assert r.source_format == "odk"
    assert {"name", "age", "colours", "colours/blue", "where/latitude", "where/precision"} <= set(r.columns)
    assert r.unknown == ()
    assert {"SubmissionDate", "KEY", "meta-instanceID", "SET-OF-children"} <= set(r.meta)
    assert r.repeats["children"]["PARENT_KEY"].to_list() == ["uuid:1"]
    assert r.repeat_columns["children"] == {"child_name": "child_name", "child_age": "child_age"}


def test_plain_csv(tmp_path):
    p = tmp_path / "plain.csv"
    pl.DataFrame({"name": ["Ann"], "age": [3], "colours": ["red"]}).write_csv(p)
    r = read_responses(p, _instrument())
    assert r.source_format == "plain" and r.mapping_rate() == 1.0 and r.repeats == {}


def test_not_this_forms_data(tmp_path):
    p = tmp_path / "other.csv"
    pl.DataFrame({"region": ["x"], "weight": [1.0], "_uuid": ["u"]}).write_csv(p)
    with pytest.raises(ValidationError, match="none of its 3 columns matches a question"):
        read_responses(p, _instrument())


def test_classify_shapes():
    inst = _instrument()
    assert classify_column("hh[2]/person/age", inst).question == "age"
    assert classify_column("hh/colours.blue", inst).kind == "indicator"
    assert classify_column("_submission__uuid", inst).kind == "meta"
    assert classify_column("where_URL", inst).kind == "part"
    assert classify_column("nothing", inst).kind == "unknown"


# --------------------------------------------------------------------------------------------------
# The shared corpus: every export with its XLSForm beside it


def _pairs():
    if not EXPORTS.is_dir():
        return []
    out = []
    for d in sorted(EXPORTS.glob("kobo-xlsx/*/")):
        if (d / "form.xlsx").exists():
            out += [(d / "form.xlsx", f) for f in sorted(d.glob("*.xlsx")) if f.name != "form.xlsx"]
    for d in sorted(EXPORTS.glob("onadata/*/")):
        forms = sorted(d.glob("*.xlsx"))
        if forms:
            out += [(forms[0], f) for f in sorted(d.glob("*.csv")) + sorted(d.glob("*.sav"))]
    out.append(
        (
            CORPUS / "forms" / "reach__REACH_2024_MSNA-kobo-tool_draft_v11.xlsx",
            EXPORTS / "reach-msna-2024" / "dummy_raw_data.xlsx",
        )
    )
    return out


@needs_corpus
@pytest.mark.parametrize("form,data", _pairs(), ids=lambda p: p.name)
def test_corpus_export_maps(form, data):
    from quietpoll.instrument.form import load_instrument

    inst = load_instrument(form)
    if data.name == "transportation_labels_only.csv":
        pytest.skip("label-headed export (headers are question labels): out of scope")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = read_responses(data, inst)
    assert r.mapping_rate() >= 0.95, (r.mapping_rate(), r.unknown)
    for name, cols in r.repeat_columns.items():
        assert cols, f"repeat table {name} maps no column"


@needs_corpus
def test_corpus_odk_briefcase_without_xlsform():
    """Briefcase folders hold XForms (.xml), not XLSForms: the columns are mapped against the question
    names of all-data-types.xml, written out here."""
    names = [
        "some_string",
        "some_int",
        "some_decimal",
        "some_date",
        "some_time",
        "some_date_time",
        "some_geopoint",
        "some_geotrace",
        "some_geoshape",
        "some_barcode",
    ]
    types = ["text", "integer", "decimal", "date", "time", "datetime", "geopoint", "geotrace", "geoshape", "barcode"]
    qs = tuple(Question(n, t) for n, t in zip(names, types))
    inst = Instrument("all-data-types", "x", None, (), None, qs, {}, (), "x.xml")
    r = read_responses(EXPORTS / "odk-briefcase" / "all-data-types" / "all-data-types.csv", inst)
    assert r.source_format == "odk" and r.unknown == () and r.mapping_rate() == 1.0
    assert "some_geopoint/precision" in r.columns


@needs_corpus
def test_corpus_odk_nested_repeat_files():
    qs = (Question("t1", "text", repeat="g1"), Question("t2", "text", repeat="g2"), Question("t3", "text", repeat="g3"))
    inst = Instrument("nested-repeats", "x", None, (), None, qs, {}, ("g1", "g2", "g3"), "x.xml")
    # the main file holds only meta columns; its repeat files beside it hold the answers
    main = read_responses(EXPORTS / "odk-briefcase" / "nested-repeats" / "nested-repeats.csv", inst)
    assert sorted(main.repeats) == ["g1", "g2", "g3"]
    assert main.repeat_columns["g3"] == {"t3": "t3"}
    assert main.repeats["g2"]["PARENT_KEY"].null_count() == 0
    r = read_responses(EXPORTS / "odk-briefcase" / "nested-repeats" / "nested-repeats-g1.csv", inst)
    assert r.columns == {"t1": "t1"}
