"""The `report` and `export` commands of the `quietpoll` CLI. Translation and formatting only: the work
is in quietpoll.report."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import command
from .options import split, study_argument
from .output import console


@command()
@study_argument()
@click.option(
    "--out",
    "out",
    type=click.Path(),
    default="report",
    show_default=True,
    help="Folder for report.html and report.json (and report.pdf).",
)
@click.option(
    "--language",
    help="Label language of the form, by name or code (English, Korean, ko; default: [report] language of study.toml).",
)
@click.option("--indicator", "indicators", multiple=True, help="Only these indicators: ID[,ID...] (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf"]),
    default="html",
    show_default=True,
    help="pdf also prints the page to report.pdf with an installed Chromium.",
)
@click.option(
    "--publish",
    is_flag=True,
    help="Record the published counts in the study's release log (STUDY/releases) and warn when "
    "this report can be differenced against an earlier one.",
)
def report(study, out, language, indicators, fmt, publish):
    """The study's report: one self-contained HTML page (charts, toplines, crosstabs, weighting, quality,
    methods; small cells suppressed) and report.json with every number it shows."""
    from ..report import build_report
    from ..report.build import STEPS

    err = console(stderr=True)
    kw = dict(language=language, indicators=split(indicators) or None, fmt=fmt, publish=publish)
    if not err.is_terminal:  # no live display when stderr is a file or a pipe: errors stay one line
        result = build_report(Path(study), Path(out), **kw)
    else:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("report", total=len(STEPS))

            def progress(step: str, k: int, total: int) -> None:
                bar.update(task, completed=k, description=step)

            result = build_report(Path(study), Path(out), progress=progress, **kw)
    data = result.data
    if data.get("synthetic"):
        err.print("[bold red]SYNTHETIC DATA[/bold red]: no real respondents")
    for w in data.get("release_warnings", []):
        err.print(f"quietpoll: warning: {w}", markup=False, highlight=False)
    click.echo(f"wrote {result.html_path}")
    click.echo(f"wrote {result.json_path}")
    if result.pdf_path is not None:
        click.echo(f"wrote {result.pdf_path}")
    shown = [r for r in data["indicators"] if not r["domain"]]
    hidden = sum(r["suppressed"] for r in data["indicators"])
    click.echo(
        f"{len(shown)} indicator(s), {len(data['tables'])} table(s), {hidden} estimate(s) suppressed, "
        f"{len(data['warnings'])} warning(s)"
    )


@command("export")
@study_argument()
@click.option("--to", "fmt", required=True, metavar="xlsx|sav|dta|parquet|csv", help="File format to write.")
@click.option("--out", type=click.Path(), help="Output file (default: STUDY/exports/responses.<format>).")
@click.option(
    "--language", help="Label language of the form, by name or code (English, Korean, ko; default: [report] language)."
)
@click.option("--weighted", is_flag=True, help="Add the final weight ([weighting] of study.toml) as final_weight.")
def export(study, fmt, out, language, weighted):
    """Write the study's responses with variable and value labels (SPSS, Stata, Excel, Parquet, CSV)."""
    from ..report.exports import export_study

    res = export_study(study, fmt, out, language=language, weighted=weighted)
    click.echo(
        f"wrote {res.path}: {res.rows} rows, {res.columns} columns"
        + (f"; codebook {res.sidecar}" if res.sidecar else "")
    )
