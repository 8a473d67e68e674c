"""The `export` command of the `quietpoll` CLI. Translation and formatting only: the work is in
quietpoll.report.exports."""

from __future__ import annotations

import click

from .cli import cli


@cli.command("export")
@click.argument("study", type=click.Path())
@click.option("--to", "fmt", required=True, metavar="xlsx|sav|dta|parquet|csv", help="File format to write.")
@click.option("--out", type=click.Path(), help="Output file (default: STUDY/exports/responses.<format>).")
@click.option("--language", help="Label language of the form: English or Korean (default: [report] language).")
@click.option("--weighted", is_flag=True, help="Add the final weight ([weighting] of study.toml) as final_weight.")
def export(study, fmt, out, language, weighted):
    """Write the study's responses with variable and value labels (SPSS, Stata, Excel, Parquet, CSV)."""
    from .report.exports import export_study

    res = export_study(study, fmt, out, language=language, weighted=weighted)
    click.echo(f"wrote {res.path}: {res.rows} rows, {res.columns} columns"
               + (f"; codebook {res.sidecar}" if res.sidecar else ""))
