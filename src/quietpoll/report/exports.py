"""Labelled exports of a study's responses: ``quietpoll export STUDY --to xlsx|sav|dta|parquet|csv``.

:func:`labelled_responses` reads the study's data as its form's responses and types them from the form:

=====================  ===========================================================================
question               exported column
=====================  ===========================================================================
select_one             sav/dta: integer codes 1..k in choice-list order with the code -> label map
                       as value labels; xlsx/csv/parquet: the choice names, with name -> label in
                       the codebook (a column holding a value that is not a choice stays text)
select_multiple        the space-separated answer, plus one 0/1 indicator per choice
                       (``q/choice``; labelled "selected" / "not selected"; null where unanswered)
integer, decimal       Int64, Float64
start, end, datetime   date-time; ``today``, ``date``: date
calculate, text, ...   as read
=====================  ===========================================================================

Variable labels are the question labels in the chosen language (``--language``, else the study's
``[report] language``, else the form's default); an indicator's label is "question: choice". Columns
the form does not know (meta, derived) are exported as read, unlabelled. With ``weighted`` the weight
the study's ``[weighting]`` gives each interview is added as ``final_weight``, from the one study
pipeline (:func:`quietpoll.pipeline.prepare_study`, as ``report`` and ``weight`` have it): empty for
interviews excluded as near-duplicates when ``[quality] drop_flagged`` is true.

Where the labels go, format by format:

* **sav / dta** (pyreadstat): variable and value labels in the file; names made legal (``q/choice`` ->
  ``q_choice``; Stata: at most 28 characters, leaving room for readstat's value-label set names);
  labels shortened to the format's limits (Stata: 80 characters for a variable label; SPSS: 255 bytes,
  120 bytes for a value label) with "..." -- the codebook keeps them whole. The file label says
  SYNTHETIC for a synthetic study.
* **xlsx**: sheet ``data``, sheet ``variables`` (name, exported name, label, type, question) and sheet
  ``value_labels`` (name, value, code, label).
* **csv**: the data, and a sidecar ``<stem>_codebook.csv`` (variable, label, type, value, code, value_label).
* **parquet**: each field's metadata holds ``label`` and ``value_labels`` (JSON); the schema metadata
  holds ``quietpoll.codebook`` (JSON) and ``quietpoll.synthetic``.

Only the main table is exported (repeat tables of a form with repeats are not). Errors
(:class:`~quietpoll.errors.ReportError`): unknown format or language; a study without its form or
data is a :class:`~quietpoll.errors.StudyError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import ReportError
from ..safe_output import neutralize_formulas, private_dir, private_output, xlsx_workbook
from ..study import load_study

__all__ = ["FORMATS", "LabelledData", "labelled_responses", "export_study", "ExportResult", "legal_names"]

FORMATS = ("xlsx", "sav", "dta", "parquet", "csv")
SELECTED = {"English": ("not selected", "selected"), "Korean": ("선택 안 함", "선택함")}
_DATETIME = {"start", "end", "datetime", "dateTime"}
_DATE = {"today", "date"}


@dataclass
class LabelledData:
    """Typed responses with their labels. ``value_labels`` maps a column to {value: label} where value
    is the stored value (choice name, or 0/1 for indicators); ``codes`` maps a select_one column to
    {choice name: integer code} (choice order, from 1)."""

    frame: pl.DataFrame
    variable_labels: dict[str, str]
    value_labels: dict[str, dict[Any, str]]  # {stored value: label}: a choice name (str) or an indicator's 0/1
    codes: dict[str, dict[str, int]]
    types: dict[str, str]
    questions: dict[str, str]
    language: str | None
    synthetic: bool
    title: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class ExportResult:
    path: Path
    rows: int
    columns: int
    sidecar: Path | None = None


def _language(form, cfg, language: str | None) -> str | None:
    wanted = language or (cfg.report.language if cfg.report.language_set else None)
    if wanted is None:
        return form.default_language
    from .options import resolve_language  # the report's rule: "Korean" or "ko" finds "Korean (ko)"

    try:
        return resolve_language(wanted, form.languages)
    except ReportError:
        raise ReportError(
            f"{{language}} '{wanted}' is not a label language of the form; available: {', '.join(form.languages)}",
            param="language",
        ) from None


def _text(labels, language, default) -> str:
    return (
        (labels or {}).get(language or "")
        or (labels or {}).get(default or "")
        or next((t for t in (labels or {}).values() if t), "")
    )


def labelled_responses(study_dir: str | Path, *, language: str | None = None, weighted: bool = False) -> LabelledData:
    """The study's responses typed and labelled from its form (see the module docstring)."""
    from ..instrument.typing import choice_names, labels as choice_labels, parse_column
    from ..pipeline import prepare_study, read_study

    cfg = load_study(study_dir)
    form, responses = read_study(cfg)
    lang = _language(form, cfg, language)
    # the weights (and the interviews excluded) are the study pipeline's, as report and weight have them
    prepared = prepare_study(cfg, instrument=form, responses=responses) if weighted else None
    raw = responses.main
    off, on = SELECTED.get(lang or "", SELECTED["English"])
    cols: list[pl.Series] = []
    var_labels: dict[str, str] = {}
    val_labels: dict[str, dict[Any, str]] = {}
    codes: dict[str, dict[str, int]] = {}
    types: dict[str, str] = {}
    questions: dict[str, str] = {}
    notes: list[str] = []
    done: set[str] = set()
    for q in form.data_questions():
        if q.name not in raw.columns or q.name in done:
            continue
        done.add(q.name)
        s = raw.get_column(q.name)
        label = _text(q.labels, lang, form.default_language)
        kind = q.type
        if kind == "select_one":
            names = choice_names(form, q) or []
            text = s.cast(pl.String, strict=False)
            labs = choice_labels(form, q, lang)
            if names and bool(text.drop_nulls().is_in(names).all()):
                codes[q.name] = {n: i + 1 for i, n in enumerate(names)}
                val_labels[q.name] = {n: labs.get(n, n) for n in names}
            elif names:
                notes.append(f"{q.name}: a value is not a choice of '{q.list_name}'; exported as text, unlabelled")
            s = text
        elif kind == "select_multiple":
            names = choice_names(form, q) or []
            text = s.cast(pl.String, strict=False)
            members = text.str.strip_chars().str.split(" ")
            labs = choice_labels(form, q, lang)
            s = text
            cols.append(s.alias(q.name))
            var_labels[q.name], types[q.name], questions[q.name] = label, kind, q.name
            for c in names:
                name = f"{q.name}/{c}"
                ind = (
                    pl.select(pl.when(pl.lit(text).is_not_null()).then(pl.lit(members).list.contains(c).cast(pl.Int64)))
                    .to_series()
                    .alias(name)
                )
                cols.append(ind)
                var_labels[name] = f"{label}: {labs.get(c, c)}" if label else labs.get(c, c)
                val_labels[name] = {0: off, 1: on}
                types[name], questions[name] = "select_multiple indicator", q.name
            continue
        elif kind in ("integer", "decimal", "range") or kind in _DATETIME or kind in _DATE:
            parsed = parse_column(s, "datetime" if kind in _DATETIME else ("date" if kind in _DATE else kind))
            if parsed is not None and not bool((parsed.is_null() & s.is_not_null()).any()):
                s = parsed
            else:
                notes.append(f"{q.name}: a value is not of type {kind}; exported as read")
        cols.append(s.alias(q.name))
        if label:
            var_labels[q.name] = label
        types[q.name], questions[q.name] = kind, q.name
    for c in raw.columns:  # meta, derived and unknown columns, as read
        if c not in done and not any(s.name == c for s in cols):
            cols.append(raw.get_column(c))
            types[c] = "meta" if c in responses.meta else "column"
    frame = pl.DataFrame(cols)
    if prepared is not None:
        frame = frame.with_columns(prepared.final_weights("final_weight"))
        var_labels["final_weight"] = "Final weight ([weighting] of study.toml); empty: excluded near-duplicate"
        types["final_weight"] = "weight"
    return LabelledData(
        frame, var_labels, val_labels, codes, types, questions, lang, cfg.study.synthetic, cfg.study.title or "", notes
    )


def legal_names(columns: list[str], fmt: str) -> dict[str, str]:
    """Column -> a name SPSS / Stata accept (letters, digits, _; a letter first; Stata: <= 28 chars), unique."""
    limit = 28 if fmt == "dta" else 64  # Stata allows 32; readstat names value-label sets after the variable
    out: dict[str, str] = {}
    taken: set[str] = set()
    for c in columns:
        n = re.sub(r"[^A-Za-z0-9_]", "_", c)
        if not n or not n[0].isalpha():
            n = "v" + n
        n = n[:limit]
        base, k = n, 1
        while n.lower() in taken:
            suffix = f"_{k}"
            n = base[: limit - len(suffix)] + suffix
            k += 1
        taken.add(n.lower())
        out[c] = n
    return out


def _fit(text: str, *, chars: int | None = None, nbytes: int | None = None) -> str:
    """`text` shortened (with "...") to at most `chars` characters and `nbytes` UTF-8 bytes."""

    def ok(t):
        return (chars is None or len(t) <= chars) and (nbytes is None or len(t.encode()) <= nbytes)

    if ok(text):
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if ok(text[:mid] + "..."):
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "..."


def _codebook_rows(data: LabelledData, names: dict[str, str] | None = None) -> tuple[list[dict], list[dict]]:
    variables, values = [], []
    for c in data.frame.columns:
        variables.append(
            {
                "name": c,
                "exported_name": (names or {}).get(c, c),
                "label": data.variable_labels.get(c),
                "type": data.types.get(c),
                "question": data.questions.get(c),
            }
        )
        for v, lab in data.value_labels.get(c, {}).items():
            code = data.codes.get(c, {}).get(v) if c in data.codes else v
            values.append({"name": c, "value": str(v), "code": code, "label": lab})
    return variables, values


def export_study(
    study_dir: str | Path,
    to: str,
    out: str | Path | None = None,
    *,
    language: str | None = None,
    weighted: bool = False,
) -> ExportResult:
    """Write the study's labelled responses as `to` (xlsx, sav, dta, parquet, csv) to `out`
    (default: STUDY/exports/responses[-SYNTHETIC].<format>)."""
    fmt = str(to).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ReportError(f"{{to}} '{to}' is not an export format; choose one of {', '.join(FORMATS)}", param="to")
    data = labelled_responses(study_dir, language=language, weighted=weighted)
    if out is None:
        folder = Path(study_dir) / "exports"
        if not folder.exists():
            private_dir(folder)
        out = folder / f"responses{'-SYNTHETIC' if data.synthetic else ''}.{fmt}"
    out = Path(out)
    if not out.parent.is_dir():
        raise ReportError(f"{{out}} '{out}': folder '{out.parent}' does not exist", param="out")
    sidecar = None
    if fmt in ("sav", "dta"):
        try:
            with private_output(out) as tmp:
                _write_readstat(data, tmp, fmt)
        except Exception as exc:  # noqa: BLE001 - readstat's own errors, e.g. a label it cannot store
            raise ReportError(
                f"cannot write '{out}' as {fmt}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
            ) from None
    elif fmt == "parquet":
        with private_output(out) as tmp:
            _write_parquet(data, tmp)
    elif fmt == "xlsx":
        with private_output(out) as tmp:
            _write_xlsx(data, tmp)
    else:
        sidecar = out.with_name(f"{out.stem}_codebook.csv")
        with private_output(out) as tmp:
            neutralize_formulas(data.frame).write_csv(tmp, quote_style="non_numeric", null_value="")
        variables, values = _codebook_rows(data)
        by_name: dict[str, list[dict]] = {}
        for v in values:
            by_name.setdefault(v["name"], []).append(v)
        rows = []
        for var in variables:
            rows.append(
                {
                    "variable": var["name"],
                    "label": var["label"],
                    "type": var["type"],
                    "value": None,
                    "code": None,
                    "value_label": None,
                }
            )
            rows += [
                {
                    "variable": var["name"],
                    "label": None,
                    "type": None,
                    "value": v["value"],
                    "code": None if v["code"] is None else str(v["code"]),
                    "value_label": v["label"],
                }
                for v in by_name.get(var["name"], [])
            ]
        codebook = pl.DataFrame(
            rows, schema={k: pl.String for k in ("variable", "label", "type", "value", "code", "value_label")}
        )
        with private_output(sidecar) as tmp:
            neutralize_formulas(codebook).write_csv(tmp)
    return ExportResult(out, data.frame.height, data.frame.width, sidecar)


def _file_label(data: LabelledData) -> str:
    return ("SYNTHETIC DATA - " if data.synthetic else "") + (data.title or "quietpoll export")


def _write_readstat(data: LabelledData, out: Path, fmt: str) -> None:
    import pyreadstat

    names = legal_names(data.frame.columns, fmt)
    frame = data.frame
    recode = [pl.col(c).replace_strict(m, default=None, return_dtype=pl.Int64) for c, m in data.codes.items()]
    if recode:
        frame = frame.with_columns(recode)
    # Stata: no UInt / Boolean; everything numeric as Int64 / Float64
    frame = frame.with_columns(
        [pl.col(c).cast(pl.Int64) for c, t in frame.schema.items() if t.is_integer() and t != pl.Int64]
    )
    frame = frame.rename(names)
    if fmt == "dta":
        var: dict[str, str | None] = {names[c]: _fit(t, chars=80) for c, t in data.variable_labels.items()}
        val: dict[str, dict[int | float, str]] = {  # codes: select_one choices' numbers, indicators' 0/1
            names[c]: {(data.codes[c][v] if c in data.codes else v): _fit(lab, chars=80) for v, lab in m.items()}
            for c, m in data.value_labels.items()
        }
        pyreadstat.write_dta(
            frame, out, file_label=_fit(_file_label(data), chars=80), column_labels=var, variable_value_labels=val
        )
    else:
        var = {names[c]: _fit(t, nbytes=255) for c, t in data.variable_labels.items()}
        val = {
            names[c]: {(data.codes[c][v] if c in data.codes else v): _fit(lab, nbytes=120) for v, lab in m.items()}
            for c, m in data.value_labels.items()
        }
        pyreadstat.write_sav(
            frame,
            out,
            file_label=_fit(_file_label(data), nbytes=64),
            column_labels=var,
            variable_value_labels=val,
            note=data.notes or None,
        )


def _write_parquet(data: LabelledData, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = data.frame.to_arrow()
    fields = []
    for f in table.schema:
        meta = {}
        if f.name in data.variable_labels:
            meta["label"] = data.variable_labels[f.name]
        if f.name in data.value_labels:
            meta["value_labels"] = json.dumps(
                {str(k): v for k, v in data.value_labels[f.name].items()}, ensure_ascii=False
            )
        fields.append(f.with_metadata(meta) if meta else f)
    variables, values = _codebook_rows(data)
    schema_meta = {
        "quietpoll.codebook": json.dumps(
            {"variables": variables, "value_labels": values}, ensure_ascii=False, default=str
        ),
        "quietpoll.synthetic": "true" if data.synthetic else "false",
        "quietpoll.title": _file_label(data),
    }
    pq.write_table(pa.Table.from_arrays(table.columns, schema=pa.schema(fields, metadata=schema_meta)), out)


def _write_xlsx(data: LabelledData, out: Path) -> None:
    variables, values = _codebook_rows(data)
    about = [_file_label(data), f"labels: {data.language or 'default'}", *data.notes]
    sheets = {
        "data": data.frame,
        "variables": pl.DataFrame(
            variables, schema={k: pl.String for k in ("name", "exported_name", "label", "type", "question")}
        ),
        "value_labels": pl.DataFrame(
            [{**v, "code": None if v["code"] is None else str(v["code"])} for v in values],
            schema={k: pl.String for k in ("name", "value", "code", "label")},
        ),
        "about": pl.DataFrame({"about": about}),
    }
    with xlsx_workbook(out) as wb:
        for name, frame in sheets.items():
            neutralize_formulas(frame).write_excel(wb, worksheet=name, autofit=False)
