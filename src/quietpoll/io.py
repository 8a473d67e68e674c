"""Reading and writing survey data files.

:func:`read_data` turns a data file into a :class:`Dataset`: a polars frame holding the data exactly
as stored (codes stay codes) plus the value labels and variable labels the file carries. The parsing
itself is done by polars (CSV, TSV, Parquet, Excel through the fastexcel/calamine engine) and by
pyreadstat (SPSS ``.sav``/``.zsav``, Stata ``.dta``); nothing here parses bytes by hand.

Missing values, format by format:

* CSV/TSV: an empty unquoted field is null, and so is the bare token ``NA`` (R's ``write.csv`` writes
  missing values as ``NA``). polars cannot tell a quoted ``"NA"`` from a bare ``NA``, so a survey in
  which ``NA`` is a real answer (a country code, say) must be read with ``na_values=()``. A quoted
  empty field (``""``) stays an empty string. A row with *more* fields than the header is an error; a
  row with *fewer* fields is padded with nulls (polars' behaviour).
* SPSS/Stata: system-missing numbers are null. Those formats have no missing string, so an empty
  string is read as null, as in CSV.
* Excel: empty cells are null.

Every problem with a file (missing, empty, unknown extension, corrupt, not what its extension says)
is raised as :class:`quietpoll.errors.InputError` with one line naming the file. The messages never
quote cell contents, and nothing in this module logs data values.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from quietpoll.errors import ColumnError, InputError

if TYPE_CHECKING:
    from quietpoll.design import DesignSpec

__all__ = [
    "FILE_FORMATS",
    "FileFormat",
    "register_format",
    "supported_extensions",
    "Dataset",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "read_data",
    "read_design_data",
    "write_data",
]

# fastexcel reports each mixed-type column it falls back to reading as text through the logging
# module. Without a handler anywhere, Python's last-resort handler prints these to stderr; a
# NullHandler keeps them quiet unless the application configures logging itself.
logging.getLogger("fastexcel").addHandler(logging.NullHandler())

#: Extension (lower case, without the dot) -> format name, for reading. Filled by `register_format`.
READ_FORMATS: dict[str, str] = {}

#: Extension -> format name, for writing (no legacy .xls writer exists). Filled by `register_format`.
WRITE_FORMATS: dict[str, str] = {}

#: Format name -> its FileFormat: the one place file formats are listed (see the end of this module).
FILE_FORMATS: dict[str, FileFormat] = {}

_DESCRIPTION: dict[str, str] = {}


@dataclass(frozen=True)
class FileFormat:
    """A data file format: its name, the extensions it is chosen by, a description for messages, and its
    reader and writer (None when quietpoll cannot read or write it).

    ``read(path, source, fmt, sheet=..., na_values=..., columns=...) -> Dataset`` and
    ``write(frame, tmp_path, fmt, value_labels=..., variable_labels=..., shown=...)``: the writer writes to
    a private temporary file (``write_data`` renames it into place) and makes text formula-inert when the
    format can hold formulas. ``sheets``: the format has sheets (``read_data(sheet=...)``)."""

    name: str
    extensions: tuple[str, ...]
    description: str
    read: Callable[..., Dataset] | None = None
    write: Callable[..., None] | None = None
    sheets: bool = False


def register_format(fmt: FileFormat) -> FileFormat:
    """Add a file format: read_data, write_data, their error messages and the CLI's file checks use it."""
    if fmt.name in FILE_FORMATS:
        raise ValueError(f"file format {fmt.name!r} is registered twice")
    FILE_FORMATS[fmt.name] = fmt
    _DESCRIPTION[fmt.name] = fmt.description
    for ext in fmt.extensions:
        if fmt.read is not None:
            READ_FORMATS[ext] = fmt.name
        if fmt.write is not None:
            WRITE_FORMATS[ext] = fmt.name
    return fmt


def supported_extensions(write: bool = False) -> str:
    """'.csv, .tsv, ...': the extensions quietpoll reads (or writes), for messages and help."""
    return _supported(WRITE_FORMATS if write else READ_FORMATS)


@dataclass(frozen=True)
class Dataset:
    """A data file as read: the data plus the labels stored with it.

    ``frame`` holds the stored values (codes, not labels). ``value_labels`` maps a column name to
    ``{code: label}``; ``variable_labels`` maps a column name to its question text. Both are empty for
    formats that carry no labels (CSV, TSV, Parquet, Excel). ``source`` is the path as given to
    :func:`read_data` and ``format`` the format name (``"csv"``, ``"sav"``, ...).
    """

    frame: pl.DataFrame
    value_labels: dict[str, dict[object, str]] = field(default_factory=dict)
    variable_labels: dict[str, str] = field(default_factory=dict)
    source: str = ""
    format: str = ""

    def labelled(self, column: str) -> pl.Series:
        """The column as text, each code replaced by its value label.

        Codes without a label are kept, as text (a whole-number float code such as ``3.0`` is written
        ``"3"``, the way SPSS shows it). Nulls stay null. Raises :class:`ColumnError` for an unknown
        column.
        """
        if column not in self.frame.columns:
            raise ColumnError(f"{self.source or 'dataset'}: no column named {column!r}")
        series = self.frame.get_column(column)
        labels = self.value_labels.get(column, {})
        values = series.drop_nulls().unique().to_list()
        mapping: dict[Any, str] = {}
        for value in values:
            label = _lookup_label(labels, value)
            mapping[value] = label if label is not None else _code_text(value)
        if not mapping:
            return series.cast(pl.String)
        return series.replace_strict(mapping, default=None, return_dtype=pl.String)


def _lookup_label(labels: Mapping[object, str], value: object) -> str | None:
    try:
        if value in labels:
            return labels[value]
    except TypeError:  # an unhashable value (a list column): no label applies
        return None
    # Stata labels come back with int keys on float columns (and the reverse); 1 == 1.0 and they
    # hash alike, so the lookup above covers that. String columns with numeric-looking labels do not
    # match numeric keys, on purpose: "1" is not the code 1.
    return None


def _code_text(value: object) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------------------------------
# Reading


def _supported(formats: Mapping[str, str]) -> str:
    return ", ".join("." + ext for ext in formats)


def _extension(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def read_data(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    na_values: Sequence[str] = ("NA",),
    columns: Callable[[list[str]], Sequence[str]] | None = None,
) -> Dataset:
    """Read a survey data file, choosing the reader by its extension (case-insensitive).

    Supported: ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx``, ``.xls``, ``.sav``, ``.zsav``, ``.dta``.
    ``sheet`` picks an Excel sheet by name or by 1-based position (default: the first sheet); it is
    an error for other formats. ``na_values`` are the CSV/TSV tokens read as null besides an empty
    field (default ``("NA",)``, R's ``write.csv`` convention); pass ``()`` when ``NA`` is a real
    answer in the data.

    ``columns``, if given, is called with the file's column names and returns those to keep (for
    CSV/TSV and Parquet only those are parsed, which makes large files much faster to load).

    Raises :class:`InputError` naming the file when it does not exist, is empty, has an unknown
    extension, or cannot be parsed as the format its extension claims.
    """
    source = os.fspath(path)
    p = Path(source)
    ext = _extension(p)
    fmt = READ_FORMATS.get(ext)
    if fmt is None:
        shown = f"extension '.{ext}'" if ext else "no extension"
        raise InputError(f"{source}: cannot read a file with {shown}; supported: {_supported(READ_FORMATS)}")
    if not p.exists():
        raise InputError(f"{source}: file not found")
    if p.is_dir():
        raise InputError(f"{source}: is a directory, not a data file")
    try:
        size = p.stat().st_size
    except OSError:
        raise InputError(f"{source}: cannot be opened (permission denied or unreadable)") from None
    if size == 0:
        raise InputError(f"{source}: file is empty")
    if sheet is not None and not FILE_FORMATS[fmt].sheets:
        raise InputError(f"{source}: sheet= applies only to Excel files, not a {_DESCRIPTION[fmt]}")
    reader = FILE_FORMATS[fmt].read
    assert reader is not None  # READ_FORMATS holds only formats with a reader
    return reader(p, source, fmt, sheet=sheet, na_values=na_values, columns=columns)


def _select(data: Dataset, columns: Callable[[list[str]], Sequence[str]] | None) -> Dataset:
    return replace(data, frame=data.frame.select(columns(data.frame.columns))) if columns else data


def _csv_reader(p: Path, source: str, fmt: str, *, sheet, na_values, columns) -> Dataset:
    keep = columns(_csv_header(p, source, fmt)) if columns else None
    return Dataset(frame=_read_csv(p, source, fmt, na_values, keep), source=source, format=fmt)


def _parquet_reader(p: Path, source: str, fmt: str, *, sheet, na_values, columns) -> Dataset:
    return _select(Dataset(frame=_read_parquet(p, source), source=source, format=fmt), columns)


def _excel_reader(p: Path, source: str, fmt: str, *, sheet, na_values, columns) -> Dataset:
    return _select(Dataset(frame=_read_excel(p, source, fmt, sheet), source=source, format=fmt), columns)


def _readstat_reader(p: Path, source: str, fmt: str, *, sheet, na_values, columns) -> Dataset:
    return _select(_read_readstat(p, source, fmt), columns)


def _separator(p: Path, fmt: str) -> str:
    """The field separator: tab for .tsv; for .csv a comma, or a semicolon when the header has semicolons
    and no comma (spreadsheets in many locales export CSV with ';')."""
    if fmt == "tsv":
        return "\t"
    try:
        with open(p, "rb") as fh:
            first = fh.readline(65536).decode("utf-8", errors="replace")
    except OSError:
        return ","
    return ";" if ";" in first and "," not in first else ","


def _csv_header(p: Path, source: str, fmt: str) -> list[str]:
    try:
        return pl.read_csv(p, n_rows=0, separator=_separator(p, fmt), encoding="utf8").columns
    except pl.exceptions.NoDataError:
        raise InputError(f"{source}: file is empty (no header row)") from None
    except Exception:  # noqa: BLE001
        raise _corrupt(source, fmt) from None


def _corrupt(source: str, fmt: str, reason: str | None = None) -> InputError:
    what = reason or f"not a valid {_DESCRIPTION[fmt]} (corrupt, truncated, or another format)"
    return InputError(f"{source}: {what}")


def _read_csv(p: Path, source: str, fmt: str, na_values: Sequence[str], keep=None) -> pl.DataFrame:
    # Types are inferred from the first 10,000 rows (a full-file inference is several times slower);
    # if a later value does not fit the inferred type polars refuses, and the file is read again
    # with the whole file inferred, so no value is ever coerced.
    try:
        return _polars_csv(p, fmt, na_values, 10_000, keep)
    except pl.exceptions.NoDataError:
        raise InputError(f"{source}: file is empty (no header row)") from None
    except Exception:  # noqa: BLE001 - retried below with full inference
        pass
    try:
        return _polars_csv(p, fmt, na_values, None, keep)
    except pl.exceptions.NoDataError:
        raise InputError(f"{source}: file is empty (no header row)") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file, not a bug here
        raise _corrupt(source, fmt, _csv_reason(exc, fmt)) from None


def _polars_csv(p: Path, fmt: str, na_values: Sequence[str], infer: int | None, keep=None) -> pl.DataFrame:
    return pl.read_csv(
        p,
        columns=list(keep) if keep is not None else None,
        separator=_separator(p, fmt),
        infer_schema_length=infer,
        null_values=list(na_values) or None,
        empty_string_is_null=True,  # unquoted empty fields; a quoted "" stays ""
        try_parse_dates=False,
        raise_if_empty=True,
        encoding="utf8",
    )


def _csv_reason(exc: Exception, fmt: str) -> str:
    # Only the kind of failure is reported: polars' own messages may quote cell contents.
    text = str(exc).lower()
    if "more fields than" in text or "ragged" in text:
        return "a row has more fields than the header row (ragged rows)"
    if "utf-8" in text or "utf8" in text or "invalid utf" in text:
        return "not valid UTF-8 text (re-save the file as UTF-8)"
    if "could not parse" in text:
        return "a value does not match the type of its column"
    return f"cannot be parsed as a {_DESCRIPTION[fmt]} (malformed quoting or binary content)"


def _read_parquet(p: Path, source: str) -> pl.DataFrame:
    try:
        return pl.read_parquet(p)
    except Exception:  # noqa: BLE001
        raise _corrupt(source, "parquet") from None


def _excel_sheet_names(p: Path, source: str, fmt: str) -> list[str]:
    import fastexcel

    try:
        return list(fastexcel.read_excel(p).sheet_names)
    except Exception:  # noqa: BLE001
        raise _corrupt(source, fmt) from None


def _read_excel(p: Path, source: str, fmt: str, sheet: str | int | None) -> pl.DataFrame:
    names = _excel_sheet_names(p, source, fmt)
    if not names:
        raise InputError(f"{source}: workbook has no sheets")
    if sheet is None:
        name = names[0]
    elif isinstance(sheet, bool) or not isinstance(sheet, (str, int)):
        raise InputError(f"{source}: sheet must be a sheet name or a 1-based position")
    elif isinstance(sheet, int):
        if not 1 <= sheet <= len(names):
            raise InputError(f"{source}: no sheet at position {sheet}; the workbook has {len(names)} sheet(s)")
        name = names[sheet - 1]
    else:
        if sheet not in names:
            shown = ", ".join(repr(n) for n in names)
            raise InputError(f"{source}: no sheet named {sheet!r}; sheets: {shown}")
        name = sheet
    try:
        frame = pl.read_excel(
            p,
            sheet_name=name,
            engine="calamine",
            infer_schema_length=None,
            raise_if_empty=True,
        )
    except pl.exceptions.NoDataError:
        raise InputError(f"{source}: sheet {name!r} is empty") from None
    except Exception:  # noqa: BLE001
        raise _corrupt(source, fmt) from None
    if not isinstance(frame, pl.DataFrame):  # defensive: a single sheet name gives one frame
        raise _corrupt(source, fmt)
    return frame


def _read_readstat(p: Path, source: str, fmt: str) -> Dataset:
    import pyreadstat

    reader = pyreadstat.read_dta if fmt == "dta" else pyreadstat.read_sav
    try:
        frame, meta = reader(p, apply_value_formats=False, output_format="polars")
    except Exception:  # noqa: BLE001 - ReadstatError, PyreadstatError, OSError, ...
        raise _corrupt(source, fmt) from None
    if not isinstance(frame, pl.DataFrame):
        frame = pl.DataFrame(frame)
    # SPSS and Stata have no missing string: an empty string is how a blank answer is stored.
    string_cols = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if string_cols:
        frame = frame.with_columns(
            pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in string_cols
        )
    value_labels: dict[str, dict[object, str]] = {}
    for column, labels in (getattr(meta, "variable_value_labels", None) or {}).items():
        if labels:
            value_labels[str(column)] = {code: str(label) for code, label in labels.items()}
    variable_labels: dict[str, str] = {}
    for column, label in (getattr(meta, "column_names_to_labels", None) or {}).items():
        if label:
            variable_labels[str(column)] = str(label)
    return Dataset(
        frame=frame,
        value_labels=value_labels,
        variable_labels=variable_labels,
        source=source,
        format=fmt,
    )


# --------------------------------------------------------------------------------------------------
# Writing


def write_data(
    frame: pl.DataFrame,
    path: str | os.PathLike[str],
    value_labels: Mapping[str, Mapping[object, str]] | None = None,
    *,
    variable_labels: Mapping[str, str] | None = None,
    overwrite: bool = True,
) -> None:
    """Write a frame to ``path``, choosing the writer by its extension (case-insensitive).

    Supported: ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx`` (xlsxwriter), ``.sav``, ``.zsav``,
    ``.dta`` (pyreadstat). ``value_labels`` (column -> {code: label}) and ``variable_labels``
    (column -> text) are stored in SPSS and Stata files; the other formats have no place for them and
    ignore them.

    CSV is written so that :func:`read_data` reads it back: nulls as empty fields, text quoted (so an
    empty string stays an empty string). A text value that is exactly ``NA`` reads back as null under
    the default ``na_values``.

    The data may be decrypted answers, so the file is created with mode 0600 (a temporary file beside
    ``path`` that replaces it atomically: a symlink at ``path`` is replaced, never followed; a failed
    write leaves ``path`` untouched); ``overwrite=False`` refuses an existing ``path`` (InputError).
    CSV, TSV and XLSX cells are made formula-inert by :func:`quietpoll.safe_output.neutralize_formulas`
    (text beginning with ``= + - @``, tab or CR gets a leading ``'``); XLSX strings are never formulas.
    """
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"write_data expects a polars DataFrame, got {type(frame).__name__}")
    target = os.fspath(path)
    p = Path(target)
    ext = _extension(p)
    fmt = WRITE_FORMATS.get(ext)
    if fmt is None:
        shown = f"extension '.{ext}'" if ext else "no extension"
        raise InputError(f"{target}: cannot write a file with {shown}; supported: {_supported(WRITE_FORMATS)}")
    parent = p.parent
    if not parent.is_dir():
        raise InputError(f"{target}: directory {os.fspath(parent)!r} does not exist")
    for kind, labels in (("value labels", value_labels), ("variable labels", variable_labels)):
        for column in labels or {}:
            if column not in frame.columns:
                raise ColumnError(f"{target}: {kind} given for unknown column {column!r}")

    from quietpoll.safe_output import private_output

    try:
        with private_output(p, overwrite=overwrite) as tmp:
            writer = FILE_FORMATS[fmt].write
            assert writer is not None  # WRITE_FORMATS holds only formats with a writer
            writer(frame, tmp, fmt, value_labels=value_labels, variable_labels=variable_labels, shown=p)
    except FileExistsError:
        raise InputError(
            f"{target}: already exists; refusing to overwrite it (remove it or choose another name)"
        ) from None
    except (InputError, ColumnError):
        raise
    except Exception as exc:  # noqa: BLE001
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{target}: cannot write {_DESCRIPTION[fmt]}: {reason}") from None


def _write_csv(frame: pl.DataFrame, p: Path, fmt: str, *, value_labels, variable_labels, shown) -> None:
    from quietpoll.safe_output import neutralize_formulas

    neutralize_formulas(frame).write_csv(
        p, separator="\t" if fmt == "tsv" else ",", quote_style="non_numeric", null_value=""
    )


def _write_parquet(frame: pl.DataFrame, p: Path, fmt: str, *, value_labels, variable_labels, shown) -> None:
    frame.write_parquet(p)


def _write_xlsx(frame: pl.DataFrame, p: Path, fmt: str, *, value_labels, variable_labels, shown) -> None:
    from quietpoll.safe_output import neutralize_formulas, xlsx_workbook

    with xlsx_workbook(p) as wb:
        neutralize_formulas(frame).write_excel(wb, autofit=False)


def _write_readstat(
    frame: pl.DataFrame,
    p: Path,
    fmt: str,
    *,
    value_labels: Mapping[str, Mapping[object, str]] | None,
    variable_labels: Mapping[str, str] | None,
    shown: Path | None = None,
) -> None:
    import pyreadstat

    shown = shown or p

    labels = {str(c): dict(v) for c, v in (value_labels or {}).items() if v}
    for column, codes in labels.items():
        dtype = frame.schema[column]
        if fmt == "dta" and not dtype.is_numeric():
            raise ColumnError(f"{shown}: Stata value labels need a numeric column; {column!r} is {dtype}")
        if dtype.is_numeric():
            for code in codes:
                if isinstance(code, bool) or not isinstance(code, (int, float)):
                    raise ColumnError(f"{shown}: value labels for numeric column {column!r} must have numeric codes")
    column_labels: dict[str, str | None] | None = {str(c): str(t) for c, t in (variable_labels or {}).items()} or None
    if fmt == "dta":
        # Stata labels numeric columns only, and every code was checked a number above
        numeric = {c: {k: t for k, t in codes.items() if isinstance(k, (int, float))} for c, codes in labels.items()}
        pyreadstat.write_dta(frame, p, column_labels=column_labels, variable_value_labels=numeric or None)
    else:
        pyreadstat.write_sav(
            frame,
            p,
            column_labels=column_labels,
            # pyreadstat annotates number codes only, but writes text codes of text columns (SPSS labels those)
            variable_value_labels=labels or None,  # type: ignore[arg-type]
            compress=fmt == "zsav",
        )


# --------------------------------------------------------------------------------------------------
# The formats (a new format is one registration here: docs/extending.md, "Adding a file format")

register_format(FileFormat("csv", ("csv",), "CSV file", read=_csv_reader, write=_write_csv))
register_format(FileFormat("tsv", ("tsv",), "tab-separated file", read=_csv_reader, write=_write_csv))
register_format(FileFormat("parquet", ("parquet",), "Parquet file", read=_parquet_reader, write=_write_parquet))
register_format(
    FileFormat("xlsx", ("xlsx",), "Excel .xlsx workbook", read=_excel_reader, write=_write_xlsx, sheets=True)
)
register_format(FileFormat("xls", ("xls",), "Excel .xls workbook", read=_excel_reader, sheets=True))
register_format(FileFormat("sav", ("sav",), "SPSS .sav file", read=_readstat_reader, write=_write_readstat))
register_format(FileFormat("zsav", ("zsav",), "SPSS .zsav file", read=_readstat_reader, write=_write_readstat))
register_format(FileFormat("dta", ("dta",), "Stata .dta file", read=_readstat_reader, write=_write_readstat))


def read_design_data(path: str | Path, spec: DesignSpec, columns: Iterable[str] = ()) -> pl.DataFrame:
    """Only the columns of a data file that the design (its columns, its replicate-weight globs) and
    `columns` need."""
    import fnmatch

    wanted = set(spec.columns()) | set(columns)
    rep = spec.replicates
    items = [] if rep is None else ([rep.columns] if isinstance(rep.columns, str) else list(rep.columns))
    globs = [g.strip() for item in items for g in item.split(",") if g.strip()]
    globs += [c for c in columns if "*" in c]  # e.g. "q/*": a select_multiple's 0/1 columns (Kobo)

    def keep(names: list[str]) -> list[str]:
        return [c for c in names if c in wanted or any(fnmatch.fnmatchcase(c, g) for g in globs)]

    return read_data(path, columns=keep).frame
