"""Tests for quietpoll.io: round trips, bad files, and the shared corpus of published exports."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from quietpoll.errors import ColumnError, InputError
from quietpoll.io import Dataset, read_data, write_data

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
EXPORTS = CORPUS / "exports"
CORPUS_SKIP = "../shared/corpus not present (shared corpus of published exports)"


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "q1": [1, 2, None, 1, 3],
            "weight": [1.5, 0.25, 2.0, None, 1.0],
            "region": ["north", None, "south", "east", "west"],
        }
    )


LABELS = {"q1": {1: "yes", 2: "no"}}


# -------------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("ext", ["csv", "tsv", "parquet", "xlsx"])
def test_round_trip_plain_formats(tmp_path: Path, ext: str) -> None:
    frame = _frame()
    path = tmp_path / f"data.{ext}"
    write_data(frame, path)
    ds = read_data(path)
    assert isinstance(ds, Dataset)
    assert ds.format == ext
    assert ds.source == str(path)
    assert ds.value_labels == {}
    assert ds.variable_labels == {}
    assert_frame_equal(ds.frame, frame)


@pytest.mark.parametrize("ext", ["sav", "zsav", "dta"])
def test_round_trip_labelled_formats(tmp_path: Path, ext: str) -> None:
    frame = _frame()
    path = tmp_path / f"data.{ext}"
    write_data(frame, path, LABELS, variable_labels={"q1": "Do you agree?"})
    ds = read_data(path)
    assert ds.format == ext
    # SPSS stores every number as a double; Stata gets doubles for columns that had nulls.
    expected = frame.with_columns(pl.col("q1").cast(pl.Float64))
    assert_frame_equal(ds.frame, expected)
    assert ds.value_labels == {"q1": {1: "yes", 2: "no"}}
    assert ds.variable_labels == {"q1": "Do you agree?"}
    assert ds.labelled("q1").to_list() == ["yes", "no", None, "yes", "3"]


def test_sav_string_value_labels(tmp_path: Path) -> None:
    frame = pl.DataFrame({"sex": ["m", "f", "x", None]})
    path = tmp_path / "s.sav"
    write_data(frame, path, {"sex": {"m": "male", "f": "female"}})
    ds = read_data(path)
    assert_frame_equal(ds.frame, frame)
    assert ds.labelled("sex").to_list() == ["male", "female", "x", None]


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "DATA.CSV"
    write_data(_frame(), path)
    ds = read_data(path)
    assert ds.format == "csv"
    assert_frame_equal(ds.frame, _frame())


def test_labelled_without_labels_and_unknown_column(tmp_path: Path) -> None:
    ds = Dataset(frame=_frame(), source="x.csv", format="csv")
    assert_series_equal(ds.labelled("q1"), pl.Series("q1", ["1", "2", None, "1", "3"]))
    with pytest.raises(ColumnError, match="nope"):
        ds.labelled("nope")


def test_dataset_is_frozen() -> None:
    ds = Dataset(frame=_frame(), source="x.csv", format="csv")
    with pytest.raises(AttributeError):
        ds.format = "tsv"  # type: ignore[misc]


# -------------------------------------------------------------------------------------------------
# CSV missing values


def test_csv_na_token_and_empty_fields(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text('id,answer,score\n1,NA,NA\n2,,3\n3,"",4\n4,yes,5\n', encoding="utf-8")
    frame = read_data(path).frame
    assert frame["answer"].to_list() == [None, None, "", "yes"]
    assert frame["score"].dtype == pl.Int64
    assert frame["score"].to_list() == [None, 3, 4, 5]


def test_csv_na_values_can_be_turned_off(tmp_path: Path) -> None:
    path = tmp_path / "countries.csv"
    path.write_text("country\nNA\nZA\n\n", encoding="utf-8")
    frame = read_data(path, na_values=()).frame
    assert frame["country"].to_list()[:2] == ["NA", "ZA"]


def test_csv_schema_inferred_from_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    rows = ["x"] + ["1"] * 500 + ["2.5"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    frame = read_data(path).frame
    assert frame["x"].dtype == pl.Float64
    assert frame["x"][-1] == 2.5


# -------------------------------------------------------------------------------------------------
# Excel sheets


def test_excel_sheet_selection(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "book.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        pl.DataFrame({"a": [1, 2]}).write_excel(wb, worksheet="first")
        pl.DataFrame({"b": ["x", "y", "z"]}).write_excel(wb, worksheet="second")
    assert read_data(path).frame.columns == ["a"]
    assert read_data(path, sheet="second").frame["b"].to_list() == ["x", "y", "z"]
    assert read_data(path, sheet=2).frame.columns == ["b"]
    with pytest.raises(InputError, match=r"book\.xlsx.*no sheet named 'third'"):
        read_data(path, sheet="third")
    with pytest.raises(InputError, match=r"book\.xlsx.*position 3"):
        read_data(path, sheet=3)


def test_sheet_for_non_excel_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    write_data(_frame(), path)
    with pytest.raises(InputError, match=r"d\.csv"):
        read_data(path, sheet="x")


# -------------------------------------------------------------------------------------------------
# Bad files


def _assert_input_error(path: Path, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as info:
        read_data(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    assert info.value.__cause__ is None
    # No library traceback attached: either nothing was caught, or it was re-raised `from None`.
    assert info.value.__context__ is None or info.value.__suppress_context__
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    err = _assert_input_error(tmp_path / "absent.csv")
    assert "not found" in str(err)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}", encoding="utf-8")
    err = _assert_input_error(path)
    for ext in (".csv", ".tsv", ".parquet", ".xlsx", ".xls", ".sav", ".zsav", ".dta"):
        assert ext in str(err)


def test_no_extension(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("a\n1\n", encoding="utf-8")
    _assert_input_error(path)


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "folder.csv"
    path.mkdir()
    _assert_input_error(path)


@pytest.mark.parametrize("ext", ["csv", "tsv", "parquet", "xlsx", "xls", "sav", "zsav", "dta"])
def test_empty_file(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"empty.{ext}"
    path.write_bytes(b"")
    err = _assert_input_error(path)
    assert "empty" in str(err)


def test_blank_csv(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n", encoding="utf-8")
    _assert_input_error(path)


def test_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n", encoding="utf-8")
    err = _assert_input_error(path)
    assert "more fields" in str(err)


def test_truncated_parquet(tmp_path: Path) -> None:
    whole = tmp_path / "whole.parquet"
    write_data(_frame(), whole)
    data = whole.read_bytes()
    for cut in (len(data) // 2, len(data) - 3, 10):
        path = tmp_path / f"cut{cut}.parquet"
        path.write_bytes(data[:cut])
        _assert_input_error(path)


@pytest.mark.parametrize("ext", ["sav", "zsav", "dta", "xlsx", "xls", "parquet"])
def test_random_bytes(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"garbage.{ext}"
    path.write_bytes(os.urandom(4096))
    err = _assert_input_error(path)
    assert "not a valid" in str(err)


def test_binary_csv(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"a,b\n" + bytes(range(128, 256)) * 8 + b"\n")
    _assert_input_error(path)


def test_truncated_sav_and_xlsx(tmp_path: Path) -> None:
    for ext in ("sav", "dta", "xlsx"):
        whole = tmp_path / f"whole.{ext}"
        write_data(_frame(), whole)
        data = whole.read_bytes()
        path = tmp_path / f"cut.{ext}"
        path.write_bytes(data[: len(data) // 3])
        _assert_input_error(path)


def test_text_named_sav(tmp_path: Path) -> None:
    path = tmp_path / "really_csv.sav"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    _assert_input_error(path)


# -------------------------------------------------------------------------------------------------
# Writing errors


def test_write_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"out\.xls.*supported"):
        write_data(_frame(), tmp_path / "out.xls")


def test_write_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_data(_frame(), tmp_path / "nowhere" / "out.csv")


def test_write_labels_for_unknown_column(tmp_path: Path) -> None:
    with pytest.raises(ColumnError, match="nope"):
        write_data(_frame(), tmp_path / "out.sav", {"nope": {1: "x"}})


def test_write_stata_labels_on_text_column(tmp_path: Path) -> None:
    with pytest.raises(ColumnError, match="region"):
        write_data(_frame(), tmp_path / "out.dta", {"region": {"north": "N"}})


def test_write_invalid_spss_name(tmp_path: Path) -> None:
    frame = pl.DataFrame({"bad name with spaces": [1, 2]})
    with pytest.raises(InputError, match=r"out\.sav"):
        write_data(frame, tmp_path / "out.sav")


# -------------------------------------------------------------------------------------------------
# Property test: CSV and Parquet round trips

# Text that polars will not re-infer as another type: a leading letter rules out numbers, dates and
# booleans ("true"/"false" start with t/f, so those are excluded as the first letter), and "NA".
_TEXT = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from("abcdegxyzé"),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"),
        max_size=12,
    ),
)


@st.composite
def _frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(min_value=1, max_value=25))
    ints = draw(st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), min_size=n, max_size=n))
    floats = draw(
        st.lists(
            st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
            min_size=n,
            max_size=n,
        )
    )
    texts = draw(st.lists(st.one_of(st.none(), _TEXT), min_size=n, max_size=n))
    return pl.DataFrame(
        {"i": ints, "f": floats, "s": texts},
        schema={"i": pl.Int64, "f": pl.Float64, "s": pl.String},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=_frames(), ext=st.sampled_from(["csv", "parquet"]))
def test_property_round_trip(tmp_path: Path, frame: pl.DataFrame, ext: str) -> None:
    path = tmp_path / f"prop.{ext}"
    write_data(frame, path)
    got = read_data(path).frame
    expected = frame
    if ext == "csv":
        # A column with no values at all has nothing to infer a type from: CSV reads it as text.
        expected = frame.with_columns(
            pl.col(c).cast(pl.String) for c in frame.columns if frame[c].null_count() == frame.height
        )
        # A float column whose values are all whole numbers is written as 1.0, 2.0 ... and stays float.
    assert_frame_equal(got, expected)


# -------------------------------------------------------------------------------------------------
# The shared corpus of published exports (never copied into this repository)


def _corpus_files() -> list[Path]:
    if not EXPORTS.is_dir():
        return []
    return sorted(
        p for p in EXPORTS.rglob("*") if p.is_file() and p.suffix.lower() in {".csv", ".xlsx", ".xls", ".sav"}
    )


_CORPUS_FILES = _corpus_files()


@pytest.mark.parametrize(
    "path",
    _CORPUS_FILES or [None],
    ids=[str(p.relative_to(EXPORTS)) for p in _CORPUS_FILES] or ["corpus-absent"],
)
def test_corpus_exports_load(path: Path | None) -> None:
    if path is None or not CORPUS.is_dir():
        pytest.skip(CORPUS_SKIP)
    ds = read_data(path)
    assert ds.frame.height > 0
    assert ds.frame.width > 0
    assert ds.source == str(path)
    if path.suffix.lower() == ".sav":
        assert ds.variable_labels, "SPSS exports carry question texts as variable labels"


def test_csv_type_change_after_10000_rows_is_not_coerced(tmp_path):
    """Types come from the first 10,000 rows; a later value of another type forces a full inference."""
    p = tmp_path / "late.csv"
    lines = ["id,x"] + [f"{i},{i}" for i in range(12_000)] + ["12000,1.5", "12001,abc"]
    p.write_text("\n".join(lines) + "\n")
    frame = read_data(p).frame
    assert frame.schema["x"] == pl.String and frame["x"][-1] == "abc" and frame["x"][-2] == "1.5"
    p2 = tmp_path / "late2.csv"
    p2.write_text("\n".join(["x"] + [str(i) for i in range(12_000)] + ["2.25"]) + "\n")
    assert read_data(p2).frame["x"].dtype == pl.Float64 and read_data(p2).frame["x"][-1] == 2.25


def test_semicolon_separated_csv_is_read(tmp_path):
    """Spreadsheets in many locales export CSV with ';' (issue 13: it was read as one column, "no rows")."""
    from quietpoll.io import read_data

    p = tmp_path / "semi.csv"
    p.write_text("a;b;note\n1;2,5;x\n3;4;y\n", encoding="utf-8")
    frame = read_data(p).frame
    assert frame.columns == ["a", "b", "note"] and frame["a"].to_list() == [1, 3]
    only = read_data(p, columns=lambda names: [n for n in names if n == "a"]).frame
    assert only.columns == ["a"]
    comma = tmp_path / "comma.csv"
    comma.write_text("a,b\n1;2,3\n", encoding="utf-8")  # a comma header keeps ',' whatever the cells hold
    assert read_data(comma).frame.columns == ["a", "b"]
