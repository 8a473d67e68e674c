"""Typing response data from the form.

:func:`type_responses` gives each answer column the type its question declares:

=====================  ===============================================================================
question type          column after typing
=====================  ===============================================================================
select_one             ``pl.Enum`` of the choice list (list order) - only when every value is a choice
select_multiple        the space-separated text, plus one ``UInt8`` 0/1 column ``q/choice`` per choice
                       (null where the question is unanswered)
integer                ``Int64`` (whole-number floats such as ``3.0`` are integers)
decimal                ``Float64``
date / today           ``Date`` (ISO ``2024-03-14``, Briefcase ``Mar 14, 2024``, or a date-time's date)
datetime, start, end   ``Datetime("us")``; values with a UTC offset are converted to UTC
=====================  ===============================================================================

Typing never loses data: a column is converted only when *every* non-missing value converts. If a
single value does not (``"seven"`` in an integer column, ``"maybe"`` in a select_one), the column
keeps its values as text, and :func:`quietpoll.quality.validation.validate` reports each such value
with its row (rule ``type`` or ``choice``). Other question types (text, time, geopoint, calculate...)
are left as read. Columns the form does not know are left untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from quietpoll.instrument.form import Instrument, Question

__all__ = [
    "type_responses",
    "labels",
    "parse_column",
    "as_text",
    "choice_names",
    "TIME_PATTERN",
    "DATETIME_TYPES",
    "DATE_TYPES",
]

DATE_TYPES = frozenset({"date", "today"})
DATETIME_TYPES = frozenset({"datetime", "dateTime", "start", "end"})
NUMBER_TYPES = frozenset({"integer", "int", "decimal", "range"})
TIME_PATTERN = r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?(Z|[+-]\d{2}(:?\d{2})?)?$"

_DATE_FORMATS = ("%Y-%m-%d", "%b %d, %Y", "%Y/%m/%d")
_DATETIME_TZ_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M%:z",
)
_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%b %d, %Y %I:%M:%S %p",
)


def choice_names(instrument: Instrument, question: Question) -> list[str] | None:
    """The question's choice names in list order (duplicates dropped), or None if the list is unknown."""
    if not question.list_name:
        return None
    items = instrument.choices.get(question.list_name)
    if items is None:
        return None
    seen: dict[str, None] = {}
    for c in items:
        seen.setdefault(str(c.name), None)
    return list(seen)


def labels(instrument: Instrument, question: Question | str, language: str | None = None) -> dict[str, str]:
    """``{choice name: label}`` for a select question in ``language`` (default: the form's default).

    A choice without a label in that language falls back to the default language, then to any
    label, then to its name. An empty dict for questions without a (known) choice list.
    """
    q = instrument.question(question) if isinstance(question, str) else question
    if not q.list_name or q.list_name not in instrument.choices:
        return {}
    wanted = [x for x in (language, getattr(instrument, "default_language", None)) if x]
    out: dict[str, str] = {}
    for c in instrument.choices[q.list_name]:
        texts: Mapping[str, str] = c.labels or {}
        label = next((texts[w] for w in wanted if texts.get(w)), None)
        if label is None:
            label = next((t for t in texts.values() if t), None)
        out.setdefault(str(c.name), label if label is not None else str(c.name))
    return out


def as_text(series: pl.Series) -> pl.Series:
    """Values as text the way a form writes them: whole-number floats without ``.0``."""
    dtype = series.dtype
    if dtype == pl.String:
        return series
    if dtype.is_float():
        whole = series.is_finite() & (series == series.floor())
        ints = pl.select(
            pl.when(pl.lit(whole))
            .then(pl.lit(series).cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(pl.lit(series).cast(pl.String))
        ).to_series()
        return ints.alias(series.name)
    if dtype == pl.Boolean:
        return series.cast(pl.String).str.replace("true", "True").str.replace("false", "False")
    if isinstance(dtype, (pl.Enum, pl.Categorical)):
        return series.cast(pl.String)
    return series.cast(pl.String, strict=False)


def _coalesce_parse(text: pl.Series, attempts) -> pl.Series:
    frame = pl.DataFrame({"t": text})
    exprs = [a(pl.col("t")) for a in attempts]
    return frame.select(pl.coalesce(exprs).alias(text.name)).to_series()


def parse_column(series: pl.Series, qtype: str) -> pl.Series | None:
    """The values of an answer column converted to the question type's dtype, null where missing or
    not convertible; None for question types that have no typed form (text, select, geopoint...)."""
    dtype = series.dtype
    if qtype in ("integer", "int"):
        if dtype.is_integer():
            return series.cast(pl.Int64)
        if dtype.is_float():
            whole = series.is_finite() & (series == series.floor()) & (series.abs() < 2.0**63)
            return pl.select(pl.when(pl.lit(whole)).then(pl.lit(series).cast(pl.Int64, strict=False))).to_series()
        text = series.cast(pl.String, strict=False).str.strip_chars()
        as_int = text.str.to_integer(strict=False)
        as_float = text.cast(pl.Float64, strict=False)
        whole = as_float.is_finite() & (as_float == as_float.floor()) & (as_float.abs() < 2.0**63)
        return (
            pl.select(
                pl.coalesce(pl.lit(as_int), pl.when(pl.lit(whole)).then(pl.lit(as_float).cast(pl.Int64, strict=False)))
            )
            .to_series()
            .alias(series.name)
        )
    if qtype in ("decimal", "range"):
        if dtype.is_numeric():
            return series.cast(pl.Float64)
        return series.cast(pl.String, strict=False).str.strip_chars().cast(pl.Float64, strict=False)
    if qtype in DATE_TYPES:
        if dtype == pl.Date:
            return series
        if isinstance(dtype, pl.Datetime):
            return series.dt.date()
        text = series.cast(pl.String, strict=False).str.strip_chars()
        attempts = [lambda e, f=f: e.str.to_date(f, strict=False) for f in _DATE_FORMATS]
        dt = parse_column(text.str.slice(0, 40), "datetime")
        out = _coalesce_parse(text, attempts)
        return pl.select(pl.coalesce(pl.lit(out), pl.lit(dt).dt.date())).to_series().alias(series.name)
    if qtype in DATETIME_TYPES:
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                return series.dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(pl.Datetime("us"))
            return series.cast(pl.Datetime("us"))
        if dtype == pl.Date:
            return series.cast(pl.Datetime("us"))
        text = series.cast(pl.String, strict=False).str.strip_chars().str.replace(r"Z$", "+00:00")
        attempts = [
            lambda e, f=f: e.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC").dt.replace_time_zone(
                None
            )
            for f in _DATETIME_TZ_FORMATS
        ] + [lambda e, f=f: e.str.to_datetime(f, strict=False, time_unit="us") for f in _DATETIME_FORMATS]
        return _coalesce_parse(text, attempts)
    return None


def type_responses(frame: pl.DataFrame, instrument: Instrument) -> pl.DataFrame:
    """The frame with each answer column typed from its question (see the module docstring)."""
    out: list[pl.Series] = []
    replace: dict[str, pl.Series] = {}
    for q in instrument.questions:
        name = q.name
        if name not in frame.columns or name in replace:
            continue
        series = frame.get_column(name)
        present = series.is_not_null()
        if q.type == "select_one":
            names = choice_names(instrument, q)
            if names is None:
                continue
            text = as_text(series)
            if bool(text.drop_nulls().is_in(names).all()):
                replace[name] = text.cast(pl.Enum(names))
        elif q.type == "select_multiple":
            text = as_text(series)
            replace[name] = text
            names = choice_names(instrument, q) or []
            members = text.str.strip_chars().str.split(" ")
            for choice in names:
                col = f"{name}/{choice}"
                ind = members.list.contains(choice).cast(pl.UInt8)
                ind = pl.select(pl.when(pl.lit(present)).then(pl.lit(ind))).to_series().alias(col)
                out.append(ind)
        else:
            parsed = parse_column(series, q.type)
            if parsed is None:
                continue
            if bool((parsed.is_null() & present).any()):
                continue  # a value does not convert: keep the column as read, validation reports it
            replace[name] = parsed.alias(name)
    result = frame.with_columns(list(replace.values())) if replace else frame
    if out:
        # indicator columns follow their question; an existing q/choice column is replaced
        result = result.with_columns(out)
    return result
