"""Reading what the collection tools export, with every column mapped back to the form.

:func:`read_responses` reads a data file with :func:`quietpoll.io.read_data` and maps each column to
a question of the :class:`~quietpoll.instrument.form.Instrument`:

* **KoboToolbox / Ona (``source_format="kobo"``)** - CSV or XLSX. Group paths joined with ``/``
  (``group/subgroup/question``); select_multiple as one space-separated column ``q`` and/or 0/1 (or
  True/False) columns ``q/choice``; geopoints split into ``_q_latitude``, ``_q_longitude``,
  ``_q_altitude``, ``_q_precision``; wide repeats ``rep[2]/q``; rank parts ``q/_1st_choice``; media
  ``q_URL``; meta ``_id``, ``_uuid``, ``_submission_time``, ``_index``, ``_parent_index``,
  ``_validation_status``, ``_submission__*``, ``__version__``, ``$edited``... In an XLSX export every
  sheet after the first is a repeat table (``repeats[sheet]``) linked to its parent by ``_index`` /
  ``_parent_index``. Ona's ``n/a`` fill is read as null.
* **ODK Central / Briefcase (``"odk"``)** - CSV with ``-`` as the group separator
  (``group-question``), meta ``KEY``, ``PARENT_KEY``, ``SubmissionDate``, ``SET-OF-*``,
  ``meta-instanceID``...; geopoints split into ``q-Latitude``, ``-Longitude``, ``-Altitude``,
  ``-Accuracy``. Repeat files ``<stem>-<repeat>.csv`` (or the main file's own suffix) beside the main file are read into
  ``repeats[repeat]`` (linked by ``KEY`` / ``PARENT_KEY``).
* **plain** - question names as headers.

Columns are renamed to canonical names: the answer column of a question becomes the question's
name, a select_multiple indicator ``q/choice`` and a geopoint part ``q/latitude`` (``longitude``,
``altitude``, ``precision``). A column whose canonical name would clash (wide repeats, duplicated
headers) keeps its header. When a select_multiple question arrives only as indicator columns, its
space-separated answer column is rebuilt from them.

Out of scope: label-headed exports (headers are question labels, not names), Kobo JSON, the ``.``
group separator of some R tooling, and SPSS/Stata exports whose variable names were shortened.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from quietpoll.errors import ValidationError
from quietpoll.io import read_data

if TYPE_CHECKING:  # the form module is imported only for type hints
    from quietpoll.instrument.form import Instrument, Question

__all__ = [
    "Responses",
    "ColumnInfo",
    "read_responses",
    "map_columns",
    "classify_column",
    "is_meta",
    "GEO_PARTS",
]

#: Canonical suffixes of the four parts of a split geopoint.
GEO_PARTS = ("latitude", "longitude", "altitude", "precision")

_KOBO_META = {
    "_id",
    "_uuid",
    "_submission_time",
    "_index",
    "_parent_index",
    "_parent_table_name",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_version",
    "_tags",
    "_duration",
    "_total_media",
    "_media_count",
    "_media_all_received",
    "_last_edited_by",
    "_attachments",
    "_geolocation",
    "_xform_id_string",
    "_edited",
    "$edited",
    "_bamboo_dataset_id",
    "_date_modified",
    "_review_status",
    "_review_comment",
    "formhub/uuid",
    "meta/instanceID",
    "meta/instanceName",
    "meta/deprecatedID",
    "meta/rootUuid",
    "instanceID",
    "meta/audit",
}
_ODK_META = {
    "KEY",
    "PARENT_KEY",
    "SubmissionDate",
    "isValidated",
    "ReviewState",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "DeviceID",
    "Edits",
    "FormVersion",
    "meta-instanceID",
    "meta-instanceName",
    "meta-deprecatedID",
    "meta-audit",
}
_QUIETPOLL_META = {"instance_id", "_interviewer"}  # written by `quietpoll pull` (and `import-odk`)
_ODK_GEO = {"Latitude": "latitude", "Longitude": "longitude", "Altitude": "altitude", "Accuracy": "precision"}
_KOBO_GEO = re.compile(r"^_(?P<q>.+)_(?P<part>latitude|longitude|altitude|precision)$")
_RANK = re.compile(r"^_\d+(st|nd|rd|th)_choice$")
_INDEX = re.compile(r"\[\d+\]")
_DUPLICATED = re.compile(r"_duplicated_\d+$")  # polars' suffix for a repeated header
_TRUE = ("1", "1.0", "true", "True", "TRUE")


def is_meta(column: str) -> bool:
    """Whether a column is collection-tool metadata rather than an answer."""
    return (
        column in _KOBO_META
        or column in _ODK_META
        or column in _QUIETPOLL_META
        or column.startswith("_submission_")
        or column.startswith("SET-OF-")
        or column.startswith("meta/")
        or column.startswith("meta-")
        or column.startswith("@_")  # Ona SPSS export
    )


@dataclass(frozen=True)
class ColumnInfo:
    """What one data column holds: ``kind`` is answer, indicator, geo, part, meta or unknown."""

    column: str
    kind: str
    question: str | None = None
    canonical: str | None = None
    choice: str | None = None


@dataclass(frozen=True)
class Responses:
    """An export read and mapped to its form.

    ``main`` is the submissions table with canonical column names; ``repeats`` the repeat tables
    (sheet or file suffix -> frame, also with canonical names). ``columns`` maps each mapped column
    of ``main`` (canonical name) to its question; ``repeat_columns`` the same per repeat table.
    ``meta`` lists the meta columns of ``main``; ``unknown`` the columns of ``main`` the form does
    not know; ``original`` maps canonical names back to the file's headers.
    """

    main: pl.DataFrame
    repeats: Mapping[str, pl.DataFrame]
    columns: Mapping[str, str]
    source_format: str
    unknown: tuple[str, ...]
    meta: tuple[str, ...] = ()
    repeat_columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    original: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def mapping_rate(self) -> float:
        """Share of the non-meta columns of ``main`` that map to a question (1.0 when none)."""
        data = len(self.columns) + len(self.unknown)
        return len(self.columns) / data if data else 1.0


# --------------------------------------------------------------------------------------------------
# Column resolution


class _Index:
    """Lookups over an instrument's questions."""

    def __init__(self, instrument: Instrument) -> None:
        self.questions: dict[str, Question] = {}
        for q in instrument.questions:
            self.questions.setdefault(q.name, q)
        self.choices: dict[str, set[str]] = {
            name: {str(c.name) for c in items} for name, items in instrument.choices.items()
        }

    def get(self, name: str) -> Question | None:
        return self.questions.get(name)

    def is_multi(self, name: str) -> bool:
        q = self.questions.get(name)
        return q is not None and q.type == "select_multiple"

    def is_geo(self, name: str) -> bool:
        q = self.questions.get(name)
        return q is not None and q.type == "geopoint"


def _candidates(path: str, sep: str) -> list[str]:
    """Right-anchored suffixes of ``path`` split on ``sep``: 'a/b/c' -> ['c', 'b/c', 'a/b/c']."""
    parts = path.split(sep)
    return [sep.join(parts[i:]) for i in range(len(parts) - 1, -1, -1)]


def _resolve_name(path: str, index: _Index, separators: tuple[str, ...]) -> str | None:
    """The question a (group-prefixed) path names, or None."""
    if index.get(path) is not None:
        return path
    for sep in separators:
        if sep in path:
            for cand in _candidates(path, sep):
                if index.get(cand) is not None:
                    return cand
    return None


def classify_column(column: str, index: _Index | Instrument, source_format: str = "kobo") -> ColumnInfo:
    """Map one data column to its question (see the module docstring for the shapes understood)."""
    if not isinstance(index, _Index):
        index = _Index(index)
    if is_meta(column):
        return ColumnInfo(column, "meta")
    seps = ("-", "/", ".") if source_format == "odk" else ("/", "-", ".")
    path = _DUPLICATED.sub("", _INDEX.sub("", column))

    name = _resolve_name(path, index, seps)
    if name is not None:
        return ColumnInfo(column, "answer", name, name)

    # select_multiple indicator q/choice (ODK uses "/" here too) and Kobo rank parts q/_1st_choice
    for sep in ("/", "."):  # "." in SPSS exports (Ona writes q.choice)
        if sep not in path:
            continue
        prefix, last = path.rsplit(sep, 1)
        base = _resolve_name(prefix, index, seps)
        if base is not None and index.is_multi(base):
            q = index.get(base)
            if q is not None and (q.list_name is None or last in index.choices.get(q.list_name, {last})):
                return ColumnInfo(column, "indicator", base, f"{base}/{last}", last)
        if base is not None and _RANK.match(last):
            return ColumnInfo(column, "part", base, None)
        # Ona: choices holding "/" or spaces were turned into "_"; still an indicator of the question
        if base is not None and index.is_multi(base):
            return ColumnInfo(column, "indicator", base, None, last)

    # ODK geopoint q-Latitude ...
    for sep in ("-", "_"):
        if sep in path:
            prefix, last = path.rsplit(sep, 1)
            if last in _ODK_GEO:
                base = _resolve_name(prefix, index, seps)
                if base is not None:
                    return ColumnInfo(column, "geo", base, f"{base}/{_ODK_GEO[last]}")

    # Kobo/Ona geopoint [group/]_q_latitude ...
    last = path.rsplit("/", 1)[-1]
    m = _KOBO_GEO.match(last)
    if m:
        base = _resolve_name(m.group("q"), index, seps)
        if base is not None:
            return ColumnInfo(column, "geo", base, f"{base}/{m.group('part')}")

    # Kobo media URL column q_URL
    if path.endswith("_URL"):
        base = _resolve_name(path[: -len("_URL")], index, seps)
        if base is not None:
            return ColumnInfo(column, "part", base, None)

    # Ona "_other" / "or_other" free text is its own question in the form, so nothing to do here.
    if column.startswith("_") or column.startswith("$"):
        return ColumnInfo(column, "meta")
    return ColumnInfo(column, "unknown")


def map_columns(columns: list[str], instrument: Instrument, source_format: str = "kobo") -> list[ColumnInfo]:
    """Classify every column; canonical names that would clash fall back to the header."""
    index = _Index(instrument)
    infos = [classify_column(c, index, source_format) for c in columns]
    taken: dict[str, int] = {}
    for info in infos:
        if info.canonical is not None:
            taken[info.canonical] = taken.get(info.canonical, 0) + 1
    headers = set(columns)
    out = []
    for info in infos:
        canon = info.canonical
        if canon is not None and (taken[canon] > 1 or (canon != info.column and canon in headers)):
            canon = None
        out.append(ColumnInfo(info.column, info.kind, info.question, canon or info.column, info.choice))
    return out


def detect_format(columns: list[str]) -> str:
    """'odk', 'kobo' or 'plain' from the headers."""
    cols = set(columns)
    if cols & {"KEY", "PARENT_KEY", "SubmissionDate", "meta-instanceID"} or any(
        c.startswith("SET-OF-") for c in columns
    ):
        return "odk"
    if cols & {"_uuid", "_submission_time", "_index", "_id", "_parent_index", "__version__", "@_uuid"} or any(
        "/" in c for c in columns
    ):
        return "kobo"
    return "plain"


# --------------------------------------------------------------------------------------------------
# Reading


def _clean(frame: pl.DataFrame, source_format: str) -> pl.DataFrame:
    """Ona writes "n/a" for questions that were not relevant: read it as null."""
    if source_format != "kobo":
        return frame
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text:
        return frame
    return frame.with_columns(pl.when(pl.col(c) == "n/a").then(None).otherwise(pl.col(c)).alias(c) for c in text)


def _indicator_true(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).is_in(_TRUE)


def _mapped(frame: pl.DataFrame, instrument: Instrument, source_format: str):
    infos = map_columns(frame.columns, instrument, source_format)
    frame = frame.rename({i.column: i.canonical for i in infos if i.canonical is not None and i.canonical != i.column})
    columns = {i.canonical: i.question for i in infos if i.question is not None}
    meta = tuple(i.canonical for i in infos if i.kind == "meta")
    unknown = tuple(i.canonical for i in infos if i.kind == "unknown")
    original = {i.canonical: i.column for i in infos}

    # rebuild select_multiple answers that arrived only as indicator columns
    by_question: dict[str, list[tuple[str, str]]] = {}  # question -> (indicator column, choice)
    for i in infos:
        if i.kind == "indicator" and i.question is not None and i.choice is not None:
            name = f"{i.question}/{i.choice}"
            if i.canonical == name:
                by_question.setdefault(i.question, []).append((name, i.choice))
    rebuilt = []
    for q, inds in by_question.items():
        if q in frame.columns:
            continue
        parts = [pl.when(_indicator_true(name)).then(pl.lit(choice)) for name, choice in inds]
        answered = pl.any_horizontal([pl.col(name).is_not_null() for name, _ in inds])
        joined = pl.concat_str(parts, separator=" ", ignore_nulls=True)
        rebuilt.append(pl.when(answered).then(joined).otherwise(None).alias(q))
        columns[q] = q
    if rebuilt:
        frame = frame.with_columns(rebuilt)
    return frame, columns, meta, unknown, original


class _RepeatTables(Mapping):
    """The repeat tables of an export, each read and mapped to the form when first used (a command that
    does not look at them does not pay for them). A table that cannot be read (an empty or odd sheet) is
    not a repeat table: it is left out. ``columns`` is the same per table for its column mapping."""

    def __init__(self, loaders: dict, mapped) -> None:
        self._loaders = loaders  # name -> () -> raw frame
        self._mapped = mapped  # raw frame -> (frame, columns)
        self._done: dict[str, tuple[pl.DataFrame, dict[str, str]] | None] = {}
        self.columns = _RepeatColumns(self)

    def _get(self, name: str):
        if name not in self._done:
            try:
                raw = self._loaders[name]()
            except KeyError:
                raise
            except Exception:  # noqa: BLE001 - an empty or odd sheet is not a repeat table
                self._done[name] = None
            else:
                self._done[name] = self._mapped(raw)
        found = self._done[name]
        if found is None:
            raise KeyError(name)
        return found

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self._get(name)[0]

    def __iter__(self):
        return iter([n for n in self._loaders if n in self])

    def __contains__(self, name: object) -> bool:
        try:
            self._get(name)  # type: ignore[arg-type]
        except KeyError:
            return False
        return True

    def __len__(self) -> int:
        return len(list(iter(self)))


class _RepeatColumns(Mapping):
    """Question of each mapped column, per repeat table (read on first use, as the tables)."""

    def __init__(self, tables: _RepeatTables) -> None:
        self._tables = tables

    def __getitem__(self, name: str) -> dict[str, str]:
        return self._tables._get(name)[1]

    def __iter__(self):
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


def read_responses(
    path: str | os.PathLike[str], instrument: Instrument, *, sheet: str | int | None = None
) -> Responses:
    """Read an export (Kobo/Ona CSV or XLSX, ODK Central/Briefcase CSV, plain CSV) for ``instrument``.

    Raises :class:`ValidationError` when no column of the main table (nor of a repeat table read
    with it) names a question of the form (the file is not this form's data, or is a label-headed
    export), and
    :class:`~quietpoll.errors.InputError` when the file cannot be read.
    """
    source = os.fspath(path)
    p = Path(source)
    dataset = read_data(p, sheet=sheet)
    frame = dataset.frame
    fmt = detect_format(frame.columns)
    frame = _clean(frame, fmt)
    main, columns, meta, unknown, original = _mapped(frame, instrument, fmt)
    loaders: dict = {}
    if dataset.format in ("xlsx", "xls") and sheet is None:
        import fastexcel

        names = list(fastexcel.read_excel(p).sheet_names)
        for name in names[1:]:
            loaders[name] = lambda name=name: read_data(p, sheet=name).frame
    elif fmt == "odk" and dataset.format in ("csv", "tsv", "parquet", "sav", "dta"):
        stem = p.stem  # ODK's layout, and what `pull` / `import-odk` write: <stem>-<repeat>.<same suffix>
        for sibling in sorted(p.parent.glob(f"{stem}-*{p.suffix}")):
            loaders[sibling.stem[len(stem) + 1 :]] = lambda sibling=sibling: read_data(sibling).frame

    def mapped(rframe: pl.DataFrame):
        rfmt = detect_format(rframe.columns) if fmt == "plain" else fmt
        rframe, rcols, _, _, _ = _mapped(_clean(rframe, rfmt), instrument, rfmt)
        return rframe, rcols

    repeats = _RepeatTables(loaders, mapped)  # read when first used
    repeat_columns = repeats.columns

    answers = [c for c in columns if c not in meta]
    if frame.width and not answers and not any(repeat_columns.values()):
        form = getattr(instrument, "form_id", "") or "the form"
        raise ValidationError(
            f"{source}: none of its {frame.width} columns matches a question of {form!r}; "
            "is this the form's data? (exports with question labels as headers are not supported: "
            "export with XML names)"
        )

    return Responses(
        main=main,
        repeats=repeats,
        columns=columns,
        source_format=fmt,
        unknown=unknown,
        meta=meta,
        repeat_columns=repeat_columns,
        original=original,
        source=source,
    )
