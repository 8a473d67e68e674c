"""Published tables of the report: topline frequencies of every question and crosstabs by the
[report] by-columns, each with the table rules of quietpoll.disclosure.tables applied.

Suppression is decided on unweighted respondent counts (threshold rule, min_cell) plus the dominance
rule on each cell's weights (a cell whose n largest weights hold more than k% of its weighted total
is sensitive), with secondary suppression audited on both the count table and the weighted table.
A suppressed entry is published as null with "suppressed": true; nothing of its value is written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..disclosure.tables import SuppressedTable, dominance_sensitive, p_percent_sensitive, suppress_table
from ..estimators import mean, proportion
from ..estimators.crosstab import crosstab as rao_scott
from ..instrument.typing import as_text, choice_names, labels as choice_labels
from .i18n import N_, translations

#: question types shown as frequencies / means; everything else is listed as not tabulated
SKIP_REASON = {
    "text": N_("free text is never published"),
    "calculate": N_("computed by the form"),
    "note": "",
    "start": N_("collection metadata"),
    "end": N_("collection metadata"),
    "today": N_("collection metadata"),
    "deviceid": N_("collection metadata"),
    "username": N_("collection metadata"),
    "audit": N_("collection metadata"),
    "date": N_("dates are not tabulated"),
    "datetime": N_("dates are not tabulated"),
    "time": N_("times are not tabulated"),
    "geopoint": N_("locations are never published"),
    "geotrace": N_("locations are never published"),
    "geoshape": N_("locations are never published"),
    "image": N_("media are never published"),
    "audio": N_("media are never published"),
    "video": N_("media are never published"),
    "file": N_("files are never published"),
}

#: questions about the interviewer rather than the respondent, by the names KoboToolbox and ODK forms give
#: them (enum_id, enumerator_gender, interviewer, surveyor_name, intermediary ...)
INTERVIEWER_NAMES = re.compile(r"^(enum|enumerator|interviewer|surveyor|intermediary|supervisor)(_|$)", re.IGNORECASE)
DESIGN_COLUMN = N_("a column of the sample design (strata, clusters, weights), not an answer")
METADATA = SKIP_REASON["start"]


def design_columns(spec) -> tuple[str, ...]:
    """The columns a design names (weights, probabilities, strata, cluster ids, fpc); replicate-weight
    globs as given."""
    if spec is None:
        return ()
    cols = list(spec.columns())
    rep = getattr(spec, "replicates", None)
    if rep is not None:
        items = [rep.columns] if isinstance(rep.columns, str) else list(rep.columns)
        cols += [g.strip() for item in items for g in item.split(",") if g.strip()]
    return tuple(cols)


def metadata_reason(name: str, design: tuple[str, ...] = (), interviewer: str | None = None) -> str | None:
    """Why a question of the form is no topline although its type is tabulated (a message to translate),
    or None: a column of the sample design (strata, cluster ids, weights, fpc, replicate weights), the
    interviewer column or a question about the interviewer, a tool's underscore column."""
    import fnmatch

    if any(name == c or fnmatch.fnmatchcase(name, c) for c in design):
        return DESIGN_COLUMN
    if name == interviewer or INTERVIEWER_NAMES.match(name) or name.startswith("_"):
        return METADATA
    return None


@dataclass(frozen=True)
class Levels:
    """A categorical column: level names in order, their labels, and each row's code (-1 = missing)."""

    name: str
    levels: tuple[str, ...]
    labels: tuple[str, ...]
    codes: np.ndarray


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def column_levels(frame: pl.DataFrame, name: str, instrument, language: str) -> Levels:
    """Levels of a column: the form's choices (in form order, labelled in `language`) for a select_one
    question, else the sorted values found (numbers in numeric order)."""
    s = frame.get_column(name)
    text = as_text(s)
    q = next((q for q in instrument.questions if q.name == name), None)
    if q is not None and q.type == "select_one" and choice_names(instrument, q):
        levels = choice_names(instrument, q) or []  # not empty: checked above
        labs = choice_labels(instrument, q, language)
        extra = sorted(set(text.drop_nulls().unique().to_list()) - set(levels))
        levels = list(levels) + extra
        labels = [labs.get(v, v) for v in levels]
    else:
        present = s.drop_nulls().unique()
        if present.dtype.is_numeric():
            levels = [str(v) for v in as_text(present.sort()).to_list()]
        else:
            levels = sorted(as_text(present).to_list())
            if q is not None and q.type == "calculate" and q.calculation:
                # a group built by the form (if(..., 'a', if(..., 'b', 'c')))): the form's order of the groups
                order = {v: k for k, v in enumerate(dict.fromkeys(calculated_values(q.calculation)))}
                levels.sort(key=lambda v: (order.get(v, len(order)), v))
        labels = list(levels)
    lookup = pl.Series("l", levels, dtype=pl.String)
    codes = text.replace_strict(
        lookup, pl.int_range(len(levels), eager=True), default=-1, return_dtype=pl.Int64
    ).to_numpy()
    codes = np.where(text.is_null().to_numpy(), -1, codes)
    return Levels(name, tuple(levels), tuple(labels), codes)


_LITERAL = re.compile(r"(!=|<=|>=|=|<|>)?\s*'([^']*)'" + r'|(!=|<=|>=|=|<|>)?\s*"([^"]*)"')


def calculated_values(calculation: str) -> list[str]:
    """The text values a calculate expression can give, in the order it names them: its quoted literals
    that are not the right side of a comparison (`${status} = 'inside'` compares, `'residents'` is given)."""
    return [
        m.group(2) if m.group(2) is not None else m.group(4)
        for m in _LITERAL.finditer(calculation)
        if not (m.group(1) or m.group(3))
    ]


def magnitude_sensitive(cell: np.ndarray, contributions: np.ndarray, n_cells: int, opts) -> np.ndarray:
    """Cells of a total (or mean) made sensitive by the dominance rule, or by the p% rule when
    [report] p_percent is set; contributions are weight x |value| per respondent."""
    out = dominance_sensitive(cell, contributions, n_cells, n=opts.dominance[0], k=opts.dominance[1])
    if opts.p_percent is not None:
        out |= p_percent_sensitive(cell, contributions, n_cells, p=opts.p_percent)
    return out


def question_label(instrument, name: str, language: str) -> str:
    q = next((q for q in instrument.questions if q.name == name), None)
    if q is None:
        return name
    return q.labels.get(language) or next((t for t in q.labels.values() if t), name)


def _suppression(res: SuppressedTable) -> dict:
    return res.summary()


def one_way(
    lv: Levels, w: np.ndarray, min_cell: int, dominance: tuple[int, float]
) -> tuple[np.ndarray, SuppressedTable]:
    """Counts and the suppression of the 1 x L table of a categorical column."""
    ok = lv.codes >= 0
    L = len(lv.levels)
    counts = np.bincount(lv.codes[ok], minlength=L)
    weighted = np.bincount(lv.codes[ok], weights=w[ok], minlength=L)
    dom = dominance_sensitive(lv.codes[ok], w[ok], L, n=dominance[0], k=dominance[1])
    res = suppress_table(counts[None, :], weighted[None, :], min_cell=min_cell, sensitive=dom[None, :])
    return counts, res


def two_way(rows: Levels, cols: Levels, w: np.ndarray, min_cell: int, dominance: tuple[int, float]):
    """Counts, weighted totals and the suppression of the rows x cols table (empty columns dropped)."""
    ok = (rows.codes >= 0) & (cols.codes >= 0)
    R, C = len(rows.levels), len(cols.levels)
    cell = rows.codes[ok] + R * cols.codes[ok]
    counts = np.bincount(cell, minlength=R * C).reshape(C, R).T
    weighted = np.bincount(cell, weights=w[ok], minlength=R * C).reshape(C, R).T
    dom = dominance_sensitive(cell, w[ok], R * C, n=dominance[0], k=dominance[1]).reshape(C, R).T
    keep = counts.sum(axis=0) > 0
    counts, weighted, dom = counts[:, keep], weighted[:, keep], dom[:, keep]
    res = suppress_table(counts, weighted, min_cell=min_cell, sensitive=dom)
    return np.flatnonzero(keep), counts, weighted, res


def _warn(est, lo, hi, n, opts, share: bool, tr) -> tuple[list[str], list[str]]:
    """(warnings in the report's language, their flags: see indicators.flags)."""
    _, ngettext = tr.gettext, tr.ngettext
    out, found = [], []
    if share and lo is not None and hi is not None and hi - lo > opts.max_ci_width:
        out.append(_("interval wider than %(width)s") % {"width": f"{opts.max_ci_width:g}"})
        found.append("wide_interval")
    if n is not None and n < opts.min_n:
        out.append(
            ngettext(
                "based on %(num)d respondent (fewer than %(min_n)d)",
                "based on %(num)d respondents (fewer than %(min_n)d)",
                n,
            )
            % {"num": n, "min_n": opts.min_n}
        )
        found.append("small_n")
    return out, found


def topline(design, instrument, q, opts, tr=None) -> dict:
    """The topline table of one question (select_one, select_multiple, integer/decimal); notes and
    warnings in the language of `tr` (default: the report's)."""
    tr = tr or translations(opts.language)
    _ = tr.gettext
    frame = design.data
    w = design.weights
    lang = opts.language
    base = {
        "id": f"topline:{q.name}",
        "kind": "topline",
        "question": q.name,
        "type": q.type,
        "title": question_label(instrument, q.name, lang),
    }
    if q.type == "select_one":
        lv = column_levels(frame, q.name, instrument, lang)
        counts, res = one_way(lv, w, opts.min_cell, opts.dominance)
        est = (
            {str(r.level): r for r in proportion(design, q.name, level=opts.level, ci_method="logit")}
            if counts.sum()
            else {}
        )
        n_q = int(counts.sum())
        rows = []
        for k, (level, label) in enumerate(zip(lv.levels, lv.labels)):
            r = est.get(level)
            sup = bool(res.cells[0, k])
            lo, hi = (None, None) if r is None else (_num(r.ci_low), _num(r.ci_high))
            e = 0.0 if r is None else _num(r.estimate)
            warn, found = ([], []) if sup or counts[k] == 0 else _warn(e, lo, hi, n_q, opts, True, tr)
            rows.append(
                {
                    "level": level,
                    "label": label,
                    "suppressed": sup,
                    "estimate": None if sup else e,
                    "ci_low": None if sup else lo,
                    "ci_high": None if sup else hi,
                    "warnings": warn,
                    "flags": found,
                }
            )
        n = int(counts.sum())
        return {**base, "n": None if res.grand_total else n, "rows": rows, "suppression": _suppression(res)}
    if q.type == "select_multiple":
        names = choice_names(instrument, q) or []
        labs = choice_labels(instrument, q, lang)
        cols = [f"{q.name}/{c}" for c in names if f"{q.name}/{c}" in frame.columns]
        rows = []
        n_answered: int | None = None
        for col in cols:
            x = frame.get_column(col)
            codes = np.where(x.is_null().to_numpy(), -1, 1 - x.fill_null(0).cast(pl.Int64).to_numpy())
            lv = Levels(col, ("1", "0"), ("selected", "not selected"), codes)
            counts, res = one_way(lv, w, opts.min_cell, opts.dominance)
            if counts.sum() == 0:
                continue
            n_answered = int(counts.sum())
            r = mean(design, col, level=opts.level)
            row = r.rows[0]
            sup = bool(res.cells[0, 0] or res.cells[0, 1])
            choice = col.split("/", 1)[1]
            lo, hi = _num(row.ci_low), _num(row.ci_high)
            warn, found = ([], []) if sup else _warn(row.estimate, lo, hi, int(counts.sum()), opts, True, tr)
            rows.append(
                {
                    "level": choice,
                    "label": labs.get(choice, choice),
                    "suppressed": sup,
                    "estimate": None if sup else _num(row.estimate),
                    "ci_low": None if sup else lo,
                    "ci_high": None if sup else hi,
                    "warnings": warn,
                    "flags": found,
                }
            )
        return {
            **base,
            "n": n_answered,
            "rows": rows,
            "note": _("share choosing each option (several allowed)"),
            "suppression": {"rule": f"threshold: fewer than {opts.min_cell} respondents, per option"},
        }
    # integer / decimal / range: the weighted mean
    s = frame.get_column(q.name)
    if not s.dtype.is_numeric():
        return {**base, "n": None, "rows": [], "note": _("values are not all numbers: not tabulated")}
    ok = s.is_not_null().to_numpy()
    n = int(ok.sum())
    yv = s.cast(pl.Float64).fill_null(0).to_numpy()
    dominated = bool(n and magnitude_sensitive(np.zeros(n, np.int64), w[ok] * np.abs(yv[ok]), 1, opts)[0])
    sup = n < opts.min_cell or dominated
    mean_row = {
        "level": None,
        "label": _("mean"),
        "suppressed": sup,
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "warnings": [],
        "flags": [],
    }
    if not sup:
        r = mean(design, q.name, level=opts.level).rows[0]
        warn, found = _warn(r.estimate, r.ci_low, r.ci_high, n, opts, False, tr)
        mean_row.update(
            estimate=_num(r.estimate), ci_low=_num(r.ci_low), ci_high=_num(r.ci_high), warnings=warn, flags=found
        )
    return {
        **base,
        "n": None if sup else n,
        "rows": [mean_row],
        "suppression": {
            "rule": f"threshold ({opts.min_cell}) and dominance ({opts.dominance[0]}, "
            f"{opts.dominance[1]:g}%)" + (f" and p% ({opts.p_percent:g})" if opts.p_percent is not None else ""),
            "dominance": dominated,
        },
    }


def two_way_table(design, instrument, row: str, col: str, opts, rs_design=None) -> dict:
    """A crosstab of `row` by `col`: column shares, column n, the Rao-Scott test, suppression applied."""
    frame = design.data
    lang = opts.language
    rl = column_levels(frame, row, instrument, lang)
    cl = column_levels(frame, col, instrument, lang)
    keep, counts, weighted, res = two_way(rl, cl, design.weights, opts.min_cell, opts.dominance)
    colw = weighted.sum(axis=0)
    W = weighted.sum()
    cells = []
    for i in range(len(rl.levels)):
        line = []
        for j in range(len(keep)):
            sup = bool(res.cells[i, j] or res.col_totals[j])
            line.append(
                {"share": None if sup else _num(weighted[i, j] / colw[j]) if colw[j] > 0 else None, "suppressed": sup}
            )
        cells.append(line)
    rows_out = [
        {
            "level": lv,
            "label": lab,
            "suppressed": bool(res.row_totals[i]),
            "share": None if res.row_totals[i] else _num(weighted[i].sum() / W) if W > 0 else None,
        }
        for i, (lv, lab) in enumerate(zip(rl.levels, rl.labels))
    ]
    cols_out = [
        {
            "level": cl.levels[k],
            "label": cl.labels[k],
            "suppressed": bool(res.col_totals[j]),
            "n": None if res.col_totals[j] else int(counts[:, j].sum()),
        }
        for j, k in enumerate(keep)
    ]
    test = None
    nonempty_r = int((counts.sum(axis=1) > 0).sum())
    if nonempty_r >= 2 and len(keep) >= 2 and rs_design is not None:
        ct = rao_scott(rs_design, f"__s_{row}", f"__s_{col}", statistic="F")
        test = {
            "statistic": "F",
            "value": _num(ct.value),
            "ndf": _num(ct.ndf),
            "ddf": _num(ct.ddf),
            "p_value": _num(ct.p_value),
            "method": "Rao-Scott second-order corrected F (R's svychisq)",
        }
    return {
        "id": f"crosstab:{row}:{col}",
        "kind": "crosstab",
        "row": row,
        "col": col,
        "title": f"{question_label(instrument, row, lang)} — {question_label(instrument, col, lang)}",
        "rows": rows_out,
        "cols": cols_out,
        "cells": cells,
        "test": test,
        "n": None if res.grand_total else int(counts.sum()),
        "suppression": _suppression(res),
        "_res": res,
        "_keep": keep,
        "_levels": rl.levels,
    }
