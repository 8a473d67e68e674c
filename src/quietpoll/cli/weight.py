"""The `weight` command. Translation and formatting only: the work is in quietpoll.pipeline and
quietpoll.weighting."""

from __future__ import annotations

import click

from ..errors import QuietpollError
from .errors import command
from .options import design_options
from .output import console, default_format, echo_json, fmt, rich_table
from .params import OUTPUT_FILE


@command()
@click.argument("data", required=False, type=click.Path())
@design_options
@click.option(
    "--out",
    "out",
    type=OUTPUT_FILE,
    help="Where to write the weighted data (default: STUDY/exports/weighted.csv, the folder made 0700).",
)
@click.option("--weight-column", default="final_weight", show_default=True, help="Name of the new weight column.")
@click.option(
    "--max-share",
    type=float,
    default=0.05,
    show_default=True,
    help="Warn when one respondent carries more than this share of the total weight.",
)
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), help="Diagnostics output.")
def weight(data, design, out, weight_column, max_share, fmt_):
    """Weight the sample to the study's [weighting] targets; write the data with the final weights.
    With a form in the study, interviews excluded by the quality checks ([quality]) get no weight."""
    from ..io import read_data, write_data
    from ..pipeline import prepare_study
    from ..weighting.diagnostics import diagnostics
    from ..weighting.targets import parse_targets

    cfg = design.study
    if cfg is None or cfg.weighting is None:
        raise QuietpollError("weight needs --study with a [weighting] section (method and targets)")
    if out is None:
        from ..safe_output import private_dir

        out = str(private_dir(cfg.folder / "exports") / "weighted.csv")
    prepared = prepare_study(cfg, data=data, design=design.spec, build_design=design.build)
    base, weighted, collapsed = prepared.design, prepared.weighted, list(prepared.collapsed)
    full = read_data(prepared.data_path).frame
    if full.height != prepared.n_read:  # pragma: no cover - read_responses keeps every row of the file
        raise QuietpollError(f"'{prepared.data_path}' has {full.height} rows but {prepared.n_read} were read")
    margins = (
        parse_targets(cfg.weighting.targets, base.data, population=cfg.weighting.population)
        if cfg.weighting.targets and not collapsed
        else None
    )
    diag = diagnostics(base.data, base.weights, weighted.weights, margins=margins, max_share=max_share).to_dict()
    diag["collapsed"] = collapsed
    diag["excluded"] = [e.to_dict() for e in prepared.exclusions]
    result = full.with_columns(prepared.final_weights(weight_column))
    # the recalibrated replicates (if any) replace the old ones under their names
    result = result.with_columns([prepared.by_row(a, c) for c, a in weighted.replicate_columns().items()])
    write_data(result, out)
    fmt_ = fmt_ or default_format()
    if fmt_ == "json":
        echo_json(diag, default=float)
        return
    out_console = console()
    out_console.print(
        f"wrote {out}: {len(result)} rows, weight column '{weight_column}'"
        + (
            f" (empty for {len(prepared.exclusions)} interview(s) excluded by the quality checks)"
            if prepared.exclusions
            else ""
        )
    )
    out_console.print(f"Kish design effect {fmt(diag['kish_deff'])}, effective n {fmt(diag['effective_n'])}")
    t = rich_table(title="margins: target vs achieved")
    for c in ("variable", "level", "target", "achieved"):
        t.add_column(c)
    for m in diag.get("margins", []):
        t.add_row(str(m.get("variable")), str(m.get("level", "")), fmt(m.get("target")), fmt(m.get("achieved")))
    out_console.print(t)
    for w in diag.get("warnings", []):
        out_console.print(f"[yellow]warning:[/yellow] {w}")
