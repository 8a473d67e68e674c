"""`quietpoll report`: from a study folder to report.html and report.json (and report.pdf).

The study is prepared by the one study pipeline (quietpoll.pipeline.prepare_study, shared with
estimate, weight, export and demo): read the export for the form -> validate -> quality checks (flagged
near-duplicates excluded before weighting when [quality] drop_flagged, at the [quality] threshold) ->
design -> weighting to the [weighting] targets; then here: estimates (indicators overall and by domain, toplines,
crosstabs with Rao-Scott tests, sensitive-question estimators) -> table rules (threshold, dominance,
audited secondary suppression) -> methods statement -> HTML (self-contained) and JSON.

report.json holds every number the HTML shows; a suppressed number is null with "suppressed": true.
It carries no timestamp, so the same study and seed give the same file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ..design import DesignSpec
from ..errors import ReportError
from ..pipeline import STEPS as PIPELINE_STEPS
from ..pipeline import PreparedStudy, prepare_study, read_study
from ..study import load_study
from ..weighting.diagnostics import diagnostics
from ..weighting.targets import parse_targets
from .i18n import translations
from .indicators import indicator_rows, is_binary, sensitive_pairs
from .selection import add_selection_bounds, population_shares
from .methods import methods_statement
from .options import base_language, check_against, resolve_language, select
from .toplines import (
    SKIP_REASON,
    column_levels,
    design_columns,
    metadata_reason,
    one_way,
    question_label,
    topline,
    two_way_table,
)

if TYPE_CHECKING:
    from ..quality.results import QualityReport, ValidationResult

Progress = Callable[[str, int, int], None]
TABULATED = ("select_one", "select_multiple", "integer", "decimal", "range")
STEPS = PIPELINE_STEPS + ("estimating indicators", "tables and disclosure rules", "writing the report")


@dataclass
class ReportResult:
    html_path: Path
    json_path: Path
    pdf_path: Path | None = None
    data: dict = field(default_factory=dict)
    prepared: PreparedStudy | None = field(default=None, repr=False)  # the study as the report used it


def _step(progress: Progress | None, k: int) -> None:
    if progress is not None:
        progress(STEPS[k], k, len(STEPS))


def _quality_summary(
    validation: ValidationResult, quality: QualityReport, flagged: list[int], dropped: bool, tr
) -> dict:
    _, ngettext = tr.gettext, tr.ngettext
    # interviewer / intermediary codes are collection metadata: never published, only counted
    return {
        "validation": {
            "n_rows": validation.n_rows,
            "n_problems": len(validation.problems),
            "by_rule": validation.by_rule(),
            "by_column": validation.by_column(),
            "unsupported": len(validation.unsupported),
            "action": _("listed here; answers are used as collected (none was changed)"),
        },
        "near_duplicates": {
            "threshold": quality.threshold,
            "threshold_rule": quality.threshold_rule,
            "pairs": quality.pairs(),
            "n_flagged": len(flagged),
            "action": (
                ngettext(
                    "excluded before weighting: both interviews of each flagged pair (%(num)d "
                    "interview), since which one is the copy cannot be told",
                    "excluded before weighting: both interviews of each flagged pair (%(num)d "
                    "interviews), since which one is the copy cannot be told",
                    len(flagged),
                )
                % {"num": len(flagged)}
            )
            if dropped and flagged
            else (_("kept ([quality] drop_flagged = false)") if flagged else _("none flagged")),
        },
        "durations": quality.findings("durations"),
        "straightlining": quality.findings("straightlining"),
        "interviewer_effects": quality.findings("interviewer_effects"),
        "interviewer_column": quality.interviewer,
        "interviewers_with_flags": len(quality.flagged_interviewers()),
    }


def _weighting(prepared: PreparedStudy):
    cfg, design, weighted, frame = prepared.config, prepared.design, prepared.weighted, prepared.frame
    if cfg.weighting is None:
        diag = diagnostics(frame, design.weights, design.weights)
        return {
            "method": None,
            "kish_deff": diag.kish_deff,
            "effective_n": diag.effective_n,
            "margins": [],
            "warnings": [],
            "collapsed": [],
        }
    collapsed = list(prepared.collapsed)
    # margins achieved vs target for the variables whose levels were not merged (merged ones are listed)
    merged = {c.get("variable") for c in collapsed if isinstance(c, dict)}
    targets = {k: v for k, v in cfg.weighting.targets.items() if k not in merged}
    margins = parse_targets(targets, design.data, population=cfg.weighting.population) if targets else None
    diag = diagnostics(design.data, design.weights, weighted.weights, margins=margins)
    return {
        "method": cfg.weighting.method,
        "variables": list(cfg.weighting.targets),
        "kish_deff": diag.kish_deff,
        "effective_n": diag.effective_n,
        "n": int(frame.height),
        "weights": diag.summary(),
        "margins": diag.margin_table(),
        "warnings": list(diag.warnings),
        "collapsed": collapsed,
    }


def build_report(
    study_dir: Path,
    out_dir: Path,
    *,
    language: str | None = None,
    indicators: list[str] | None = None,
    fmt: str = "html",
    progress: Progress | None = None,
    publish: bool = False,
) -> ReportResult:
    """Run the study's pipeline and write out_dir/report.html and out_dir/report.json (and report.pdf
    with fmt="pdf"). With publish=True the published counts of every table are recorded in the study's
    release log (disclosure/log.py) and differencing warnings against the last publication are in
    report.json "release_warnings". Bad input raises ReportError (or the StudyError etc. of the step at
    fault)."""
    if fmt not in ("html", "pdf"):
        raise ReportError(f"unknown report format '{fmt}': use html or pdf")
    if fmt == "pdf":
        from .pdf import find_renderer

        find_renderer()  # before the work: no renderer, no report
    _step(progress, 0)
    study_dir = Path(study_dir)
    if not study_dir.exists():
        raise ReportError(f"study folder '{study_dir}' does not exist")
    cfg = load_study(study_dir)
    opts = select(cfg.report, language=language, only=indicators)
    instrument, responses = read_study(cfg)
    raw = responses.main
    from ..instrument.typing import type_responses

    typed = type_responses(raw, instrument)  # choices as the form's levels: a level nobody chose is one
    checked = typed
    if cfg.recode:  # the [recode] columns exist for the report as they will in the analysis frame
        from ..recode import apply_recode

        checked = apply_recode(checked, cfg.recode, as_enum=True)
        raw = apply_recode(raw, cfg.recode)
    check_against(opts, checked, instrument.languages)
    opts = replace(opts, language=resolve_language(opts.language, instrument.languages))
    tr = translations(opts.language)
    _ = tr.gettext
    # proportion and mean indicators always name a variable (checked with the options)
    share_vars = {i.variable for i in opts.indicators if i.kind == "proportion" and i.variable is not None}
    share_vars |= {
        i.variable
        for i in opts.indicators
        if i.kind == "mean" and i.variable is not None and is_binary(raw, i.variable)
    }
    # text copies of the crosstab columns for the Rao-Scott tests (levels that occur, as text)
    copies = {f"__s_{c}": pl.col(c).cast(pl.String) for c in sorted(share_vars | set(opts.by))}

    def step_progress(name: str) -> None:
        if name != STEPS[0]:
            _step(progress, STEPS.index(name))

    prepared = prepare_study(
        cfg,
        instrument=instrument,
        responses=responses,
        typed=typed,  # typed once, here and for the analysis frame
        derived=copies,
        progress=step_progress,
    )
    validation, quality, flagged = prepared.validation, prepared.quality, list(prepared.flagged)
    if validation is None or quality is None:  # prepare_study validates whenever it has the form, as here
        raise ReportError("the report needs the answers validated against the questionnaire")
    drop_flagged = cfg.quality.drop_flagged
    frame, weighted = prepared.frame, prepared.weighted
    weighting = _weighting(prepared)
    naive = DesignSpec().build(frame)

    _step(progress, 4)
    crosstabs = {}
    for var in sorted(share_vars):
        for by in opts.by:
            if by != var:
                crosstabs[(var, by)] = two_way_table(weighted, instrument, var, by, opts, rs_design=weighted)
    rows = indicator_rows(weighted, naive, instrument, opts, crosstabs, tr)
    if cfg.weighting is not None:  # headline shares carry MUBP's range of selection bias (report/selection.py)
        merged = {c.get("variable") for c in prepared.collapsed if isinstance(c, dict)}
        shares = population_shares(cfg.weighting.targets, frame, {m for m in merged if m})
        add_selection_bounds(rows, frame, shares, cfg.weighting.population)
    model_based = None
    if opts.model_based:  # by-group rows the direct estimate fails get MRP (report/model_rows.py)
        from .model_rows import add_model_rows

        def model_progress(indicator: str) -> None:  # a fit can take seconds: say which one runs
            if progress is not None:
                progress(f"{STEPS[4]}: model-based estimates of {indicator}", 4, len(STEPS))

        model_based = add_model_rows(
            rows,
            frame=frame,
            weights=weighted.weights,
            weighting=cfg.weighting,
            opts=opts,
            study_dir=study_dir,
            tr=tr,
            progress=model_progress,
        )

    _step(progress, 5)
    toplines, skipped = [], []
    # collection metadata and the design's own columns are no questions to publish (enumerator, clusters)
    design_cols = design_columns(cfg.design)
    for q in instrument.data_questions():
        interviewer = quality.interviewer if quality is not None else None
        meta = metadata_reason(q.name, design_cols, interviewer) if q.type in TABULATED else None
        if q.repeat is not None:
            skipped.append({"question": q.name, "reason": _("questions of repeats are not tabulated")})
        elif meta is not None:
            skipped.append({"question": q.name, "reason": _(meta)})
        elif q.type in SKIP_REASON or q.type not in TABULATED:
            skipped.append(
                {
                    "question": q.name,
                    "reason": _(SKIP_REASON[q.type])
                    if SKIP_REASON.get(q.type)
                    else _("%(type)s not tabulated") % {"type": q.type},
                }
            )
        elif q.name not in frame.columns:
            skipped.append({"question": q.name, "reason": _("not in the data")})
        else:
            toplines.append(topline(weighted, instrument, q, opts, tr))
    sample = _sample_sizes(weighted, instrument, opts, raw.height, len(prepared.exclusions))

    _step(progress, 6)
    data = {
        "title": cfg.title or instrument.title,
        "synthetic": opts.synthetic,
        "language": base_language(opts.language),
        "settings": {
            "min_cell": opts.min_cell,
            "max_ci_width": opts.max_ci_width,
            "min_n": opts.min_n,
            "by": list(opts.by),
            "level": opts.level,
            "dominance": list(opts.dominance),
            "p_percent": opts.p_percent,
            "by_labels": {b: question_label(instrument, b, opts.language) for b in opts.by},
        },
        "sample": sample,
        "indicators": rows,
        "sensitive": sensitive_pairs(rows),
        "tables": [_public(t) for t in crosstabs.values()] + toplines,
        "not_tabulated": skipped,
        "weighting": weighting,
        "quality": _quality_summary(validation, quality, flagged, drop_flagged, tr),
    }
    if opts.description_text(opts.language):  # the study's own framing ([report] description), never a template's
        data["description"] = opts.description_text(opts.language)
    data["methods"] = methods_statement(data, opts, instrument, cfg, tr)
    if model_based is not None:
        from .model_rows import methods_element

        data["model_based"] = model_based
        data["methods"]["elements"].append(methods_element(model_based, tr))
    data["warnings"] = [{"id": r["id"], "domain": r["domain"], "warning": w} for r in rows for w in r["warnings"]]
    data = _clean(data)
    if publish:
        data["release_warnings"] = log_published_counts(Path(study_dir), data, opts.min_cell)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False), encoding="utf-8")
    from .html import render_html

    html_path = out_dir / "report.html"
    html_path.write_text(render_html(data), encoding="utf-8")
    pdf_path = None
    if fmt == "pdf":
        from .pdf import html_to_pdf

        pdf_path = html_to_pdf(html_path, out_dir / "report.pdf")
    return ReportResult(html_path=html_path, json_path=json_path, pdf_path=pdf_path, data=data, prepared=prepared)


def published_counts(table: dict) -> pl.DataFrame | None:
    """The respondent counts a report table publishes (crosstab column n, topline n per level, or the
    table's n), one row per cell with `cell` and `n` (null when suppressed); None if it publishes none."""
    cells = [(str(c.get("level")), c.get("n")) for c in table.get("cols", []) if "n" in c]
    cells += [(str(r.get("level")), r.get("n")) for r in table.get("rows", []) if "n" in r]
    if "n" in table:
        cells.append(("__all__", table.get("n")))
    if not cells:
        return None
    return pl.DataFrame(
        {"cell": [c for c, _ in cells], "n": [n for _, n in cells]}, schema={"cell": pl.String, "n": pl.Float64}
    )


def log_published_counts(study_dir: Path, data: dict, threshold: int) -> list[str]:
    """Record every table's published counts in the study's release log; the differencing warnings."""
    from ..disclosure.log import log_table

    warnings: list[str] = []
    for table in data["tables"]:
        counts = published_counts(table)
        if counts is not None:
            warnings += log_table(study_dir, f"report {table['id']}", counts, ["cell"], "n", max(int(threshold), 2))
    return warnings


def _sample_sizes(design, instrument, opts, n_read: int, n_excluded: int) -> dict:
    out = {"n_read": n_read, "n_excluded": n_excluded, "n_analysed": design.n, "by": {}}
    for by in opts.by[:1]:
        lv = column_levels(design.data, by, instrument, opts.language)
        counts, res = one_way(lv, design.weights, opts.min_cell, opts.dominance)
        out["by"][by] = [
            {
                "level": v,
                "label": lab,
                "n": None if res.cells[0, k] else int(counts[k]),
                "suppressed": bool(res.cells[0, k]),
            }
            for k, (v, lab) in enumerate(zip(lv.levels, lv.labels))
            if counts[k] > 0
        ]
    return out


def _public(table: dict) -> dict:
    return {k: v for k, v in table.items() if not k.startswith("_")}


def _clean(obj):
    """JSON values only: numpy scalars as Python numbers, NaN/inf as null."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


__all__ = ["ReportResult", "build_report", "question_label"]
