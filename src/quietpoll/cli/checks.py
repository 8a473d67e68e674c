"""The `validate` and `quality` commands: the answers checked against the questionnaire, and the
fabrication and quality checks. Translation and formatting only: the work is in quietpoll.quality."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import QuietpollError
from .errors import command
from .options import study_option, study_or_none
from .output import console, default_format, echo_json, fmt, rich_table


def data_and_form(data: str | None, form: str | None, study: str | None):
    """DATA and --instrument, each from the study's [data] and [instrument] paths when not given; and the
    study (None without --study)."""
    cfg = study_or_none(study)
    if study and cfg is None:
        raise QuietpollError(f"--study {study!r} has no study.toml")
    data = data or (cfg.data_path if cfg else None)
    form = form or (cfg.instrument.path if cfg else None)
    if data is None:
        raise QuietpollError("no data: give a DATA file or --study with a [data] path")
    if form is None:
        raise QuietpollError("no form: give --instrument FORM or --study with an [instrument] path")
    return Path(data), Path(form), cfg


def form_and_responses(data, form):
    """The questionnaire and the data file read as that form's responses."""
    from ..instrument.exports import read_responses
    from ..instrument.form import load_instrument

    instrument = load_instrument(form)
    return instrument, read_responses(data, instrument)


@command()
@click.argument("data", required=False, type=click.Path())
@click.option(
    "--instrument",
    "form",
    type=click.Path(),
    help="The XLSForm (.xlsx, .xls, .csv, .md) (default: the study's [instrument] path).",
)
@study_option("Study folder: its [data] path is the default DATA, its [instrument] path the default form.")
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def validate(data, form, study, fmt_):
    """Check every answer against the questionnaire: type, choice, constraint, relevance, required."""
    from ..quality.validation import validate as _validate

    data, form, _ = data_and_form(data, form, study)
    instrument, responses = form_and_responses(data, form)
    typed = _validate(responses.main, instrument)
    result = typed.to_dict()
    fmt_ = fmt_ or default_format()
    if fmt_ == "json":
        echo_json(result, default=str)
        return
    out = console()
    # a summary first (by rule, then the columns with the most problems), then the first problems;
    # rows are shown as people count them in a data file: the first data row is row 1
    n = len(result["problems"])
    rows_hit = len(typed.rows())
    out.print(f"{n} problem(s) in {rows_hit} of {result['n_rows']} row(s)")
    if n:
        summary = rich_table(title="Problems by rule")
        summary.add_column("rule")
        summary.add_column("count", justify="right")
        for rule, count in typed.by_rule().items():
            summary.add_row(rule, str(count))
        out.print(summary)
        cols = sorted(typed.by_column(), key=lambda d: (-d["count"], d["column"], d["rule"]))
        by_col = rich_table(
            title="Columns with the most problems" + (f" (10 of {len(cols)})" if len(cols) > 10 else "")
        )
        for c in ("column", "rule", "count"):
            by_col.add_column(c, justify="right" if c == "count" else "left")
        for d in cols[:10]:
            by_col.add_row(d["column"], d["rule"], str(d["count"]))
        out.print(by_col)
        shown = result["problems"][:50]
        t = rich_table(title=f"The first {len(shown)} problem(s)" + (" (--format json lists all)" if n > 50 else ""))
        for c in ("row", "column", "rule", "value", "message"):
            t.add_column(c)
        for p in shown:
            row = "" if p["row"] is None else str(p["row"] + 1)
            t.add_row(row, str(p["column"]), p["rule"], str(p["value"]), p["message"])
        out.print(t)
    for u in result.get("unsupported", []):
        out.print(f"[yellow]not checked[/yellow] {u['question']}: {u['expression']} ({u['reason']})")


@command()
@click.argument("data", required=False, type=click.Path())
@click.option("--instrument", "form", type=click.Path(), help="The XLSForm (default: the study's [instrument] path).")
@study_option("Study folder: its [data] and [instrument] paths and its [quality] options are the defaults.")
@click.option("--interviewer", help="Interviewer / intermediary column (default: [quality], the form's or export's).")
@click.option(
    "--threshold", type=float, help="Percent-match flag threshold (default: [quality], else simulated for this form)."
)
@click.option("--seed", type=int, help="Seed of the null simulation (default: [quality] seed, else 0).")
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def quality(data, form, study, interviewer, threshold, seed, fmt_):
    """Fabrication and quality checks: near-duplicates, durations, straightlining, non-response,
    interviewer effects."""
    from ..quality.report import quality_report

    data, form, cfg = data_and_form(data, form, study)
    if cfg is not None:
        interviewer = interviewer or cfg.quality.interviewer
        threshold = threshold if threshold is not None else cfg.quality.threshold
        seed = seed if seed is not None else cfg.quality.seed
    instrument, responses = form_and_responses(data, form)
    result = quality_report(
        responses.main, instrument, interviewer=interviewer, threshold=threshold, seed=0 if seed is None else seed
    ).to_dict()
    fmt_ = fmt_ or default_format()
    if fmt_ == "json":
        echo_json(result, default=str)
        return
    out = console()
    out.print(
        f"{result['n_rows']} interviews, {len(result['questions'])} questions compared; "
        f"percent-match threshold {fmt(result['threshold'])} ({result['threshold_rule']})"
    )
    t = rich_table(title=f"{len(result['near_duplicates'])} near-duplicate pair(s)")
    for c in ("row", "match_row", "share", "compared", "interviewer"):
        t.add_column(c)
    for d in result["near_duplicates"][:200]:
        t.add_row(
            str(d["row"]),
            str(d["match_row"]),
            f"{d['share']:.3f}",
            str(d.get("compared", "")),
            str(d.get("interviewer", "")),
        )
    out.print(t)
    for key in ("durations", "straightlining", "interviewer_effects"):
        items = result.get(key) or []
        out.print(f"{key}: {len(items)} finding(s)")
