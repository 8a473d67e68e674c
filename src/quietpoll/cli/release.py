"""The `release` command of the `quietpoll` CLI (disclosure-controlled data files). Translation and
formatting only: the work is in quietpoll.disclosure."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import DisclosureError
from .errors import command
from .options import split
from .output import console, default_format, rich_table
from .params import OUTPUT_FILE
from .sensitive import designs_from_cli, sensitive_options, study_form


@command()
@click.argument("data", required=False, type=click.Path())
@click.option("--qi", multiple=True, help="Quasi-identifiers COL[,COL...] (k is counted over these).")
@click.option("--k", "k", type=int, default=5, show_default=True, help="k for k-anonymity (at least 2).")
@click.option("--identifiers", multiple=True, help="Direct identifiers COL[,COL...]: dropped.")
@click.option(
    "--out",
    "out",
    required=True,
    type=OUTPUT_FILE,
    help="The released file (.csv, .tsv, .parquet, .xlsx, .sav, .zsav, .dta).",
)
@click.option(
    "--study",
    type=click.Path(),
    help="Study folder (or study.toml): keeps the release log in "
    "STUDY/releases/ and warns when this release can be differenced against an earlier one.",
)
@click.option(
    "--instrument",
    "form",
    type=click.Path(),
    help="The XLSForm: metadata columns and free-text questions found from its question types "
    "(default: the study's [instrument] path).",
)
@click.option(
    "--free-text",
    "free_text",
    multiple=True,
    help="Free-text columns COL[,COL...] to scrub (default: "
    "the form's text questions, or every text column that is not a QI).",
)
@click.option(
    "--names",
    "names_file",
    type=click.Path(),
    help="Names and place names to remove from free text: a UTF-8 file, one per line.",
)
@click.option("--recode", "recodes", multiple=True, help="COL=bands:B0,B1,... | COL=years:WIDTH | COL=top:VALUE.")
@click.option("--year-bands", "year_bands", multiple=True, help="COL=WIDTH: years in bands of WIDTH years.")
@click.option("--top-code", "top_codes", multiple=True, help="COL=VALUE: values above VALUE set to VALUE.")
@click.option(
    "--timestamps",
    type=click.Choice(["month", "quarter"]),
    default="month",
    show_default=True,
    help="Coarsen collection timestamps to this.",
)
@click.option(
    "--max-suppressed",
    type=float,
    default=0.05,
    show_default=True,
    help="Refuse (exit 3) when more than this share of all QI values would be suppressed.",
)
@click.option(
    "--max-suppressed-per-qi",
    type=float,
    default=0.5,
    show_default=True,
    help="Refuse (exit 3) when more than this share of one QI's values would be suppressed.",
)
@click.option("--importance", multiple=True, help="QIs COL[,COL...] from the most important (suppressed last).")
@click.option("--record-id", help="Column identifying a record across releases (default: the instance id).")
@click.option("--report", "report_path", type=click.Path(), help="Also write the release report (JSON) here.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Report output (table on a terminal).")
@sensitive_options
@click.option(
    "--sensitive-coding",
    type=click.Choice(["top-bottom", "none"]),
    default="top-bottom",
    show_default=True,
    help="List-experiment ceiling (J+1) and floor (0) rows of the treated arm: "
    "top/bottom-coded to J and 1 so that none decodes the sensitive item; 'none' publishes them as "
    "they are (they reveal the answer).",
)
def release(
    data,
    qi,
    k,
    identifiers,
    out,
    study,
    form,
    free_text,
    names_file,
    recodes,
    year_bands,
    top_codes,
    timestamps,
    max_suppressed,
    max_suppressed_per_qi,
    importance,
    record_id,
    report_path,
    fmt,
    le_count,
    le_treat,
    control_items,
    rr_cols,
    draws,
    sensitive_coding,
):
    """Write a disclosure-controlled copy of DATA: identifiers dropped, metadata stripped, free text
    scrubbed, recodes, local suppression to k-anonymity; randomization draws dropped and list-experiment
    ceilings and floors coded (designs from the study's indicators or the flags); a report of every
    change. Exit 3 when k cannot be reached without destroying the file."""
    from ..disclosure.recode import parse_recode
    from ..disclosure.release import publish
    from ..disclosure.release import release as _release
    from ..disclosure.scrub import read_names
    from ..io import read_data

    form, study, cfg = study_form(study, form)  # the study's form finds metadata and free-text columns
    data = data or (cfg.data_path if cfg else None)
    if data is None:
        raise DisclosureError("no data: give a DATA file or --study with a [data] path")
    specs = [parse_recode(r) for r in recodes]
    specs += [parse_recode(r, "years") for r in year_bands]
    specs += [parse_recode(r, "top") for r in top_codes]
    names = read_names(names_file) if names_file else []
    instrument = None
    if form:
        from ..instrument.form import load_instrument

        instrument = load_instrument(form)
    designs = designs_from_cli(le_count, le_treat, control_items, rr_cols, draws, study=study, instrument=instrument)
    dataset = read_data(data)
    rel = _release(
        dataset.frame,
        qi=split(qi),
        k=k,
        identifiers=split(identifiers),
        instrument=instrument,
        free_text=split(free_text) if free_text else None,
        names=names,
        recodes=specs,
        timestamps=timestamps,
        max_suppressed=max_suppressed,
        max_suppressed_per_qi=max_suppressed_per_qi,
        importance=split(importance) or None,
        record_id=record_id,
        value_labels=dataset.value_labels,
        sensitive=designs,
        sensitive_coding=sensitive_coding,
    )
    report = publish(rel, out, study=study)
    report["input"]["file"] = str(data)
    text = json.dumps(report, allow_nan=False, ensure_ascii=False, indent=None)
    if report_path:
        Path(report_path).write_text(
            json.dumps(report, allow_nan=False, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    for w in report["warnings"]:
        click.echo(f"quietpoll: warning: {w}", err=True)
    if (fmt or default_format()) == "json":
        click.echo(text)
        return
    _print_report(report)


def _print_report(report: dict) -> None:
    con = console()
    o = report["output"]
    con.print(f"released {o['rows']} rows x {o['columns']} columns to {o['file']} (sha256 {o['sha256'][:16]}...)")
    con.print(
        f"k = {report['k']} over {', '.join(report['qi'])}: k before {report['k_before']}, "
        f"after {report['final_k']} ({report['k_rule']})"
    )
    t = rich_table(title="release report", show_lines=False)
    for col in ("change", "column", "detail"):
        t.add_column(col)
    for d in report["dropped"]:
        t.add_row("dropped", d["column"], d["reason"])
    for d in report["coarsened"]:
        extra = f", {d['unreadable_removed']} unreadable removed" if d["unreadable_removed"] else ""
        t.add_row("coarsened", d["column"], f"{d['reason']} -> {d['to']}{extra}")
    for c, counts in report["scrubbed"].items():
        found = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "nothing found"
        t.add_row("scrubbed", c, found)
    for r in report["recodes"]:
        t.add_row("recoded", r["column"], f"{r['spec']} ({r['values_changed']} values)")
    s = report["suppression"]
    for c, n in s["by_qi"].items():
        t.add_row("suppressed", c, f"{n} value(s)")
    con.print(t)
    con.print(f"suppressed {s['cells']} QI value(s) ({s['share']:.2%}) in {s['records_touched']} record(s)")
    _print_sensitive(con, report.get("sensitive") or {})
    if report.get("log"):
        con.print(f"logged as release {report['log']['id']} in {report['log']['path']}")


def _est(e: dict) -> str:
    if e.get("estimate") is None:
        return "n/a"
    return f"{e['estimate']:.4f} (SE {e['se']:.4f})" if e.get("se") is not None else f"{e['estimate']:.4f}"


def _print_sensitive(console, sens: dict) -> None:
    for d in sens.get("dropped", []):
        console.print(f"sensitive: dropped {d['column']}: {d['reason']}")
    for le in sens.get("list_experiments", []):
        console.print(
            f"list experiment {le['count']} (J = {le['control_items']}, {le['treated_rows']} treated): "
            f"{le['ceiling_rows']} ceiling and {le['floor_rows']} floor row(s); {le['coding']}"
            + (f" in {', '.join(le['columns_coded'])}" if le["columns_coded"] else "")
        )
        console.print(
            f"  estimate on the full file {_est(le['estimate_full'])}, on the released file "
            f"{_est(le['estimate_released'])} ({sens.get('estimates', '')})"
        )
    for rr in sens.get("randomized_response", []):
        console.print(f"randomized response {rr['answer']}: {rr['note']}")
