"""The `disclosure` command: re-identification risk of a data file and what decodes a sensitive answer.
Translation and formatting only: the work is in quietpoll.disclosure."""

from __future__ import annotations

import click

from ..errors import QuietpollError
from .errors import command
from .options import split
from .output import console, default_format, echo_json, fmt
from .sensitive import designs_from_cli, sensitive_options, study_form


@command()
@click.argument("data", required=False, type=click.Path())
@click.option("--qi", multiple=True, help="Quasi-identifiers COL[,COL...] (default: proposed from --instrument).")
@click.option("--sensitive", multiple=True, help="Sensitive columns COL[,COL...] (for l-diversity).")
@click.option("--k", "k", type=int, default=5, show_default=True, help="k for k-anonymity.")
@click.option("--weights", help="Weight column (individual risk uses the estimated population frequencies).")
@click.option(
    "--instrument",
    "form",
    type=click.Path(),
    help="The XLSForm, to propose quasi-identifiers (and find its device-only draws and what is computed from them).",
)
@click.option(
    "--study",
    type=click.Path(),
    help="Study folder: its [[report.indicators]] name the list "
    "experiments and randomized-response items; its form is the default --instrument, its [data] "
    "path the default DATA.",
)
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
@sensitive_options
def disclosure(data, qi, sensitive, k, weights, form, study, fmt_, le_count, le_treat, control_items, rr_cols, draws):
    """Re-identification risk of a data file: k-anonymity, records below k, l-diversity, individual
    risk, expected re-identifications; and what decodes a sensitive answer: randomization draws (and
    columns computed from them) and list-experiment ceiling (J+1) and floor (0) rows of the treated arm."""
    from ..disclosure.risk import disclosure_risk, propose_qi
    from ..disclosure.sensitive import assess
    from ..io import read_data

    form, _, cfg = study_form(study, form)
    data = data or (cfg.data_path if cfg else None)
    if data is None:
        raise QuietpollError("no data: give a DATA file or --study with a [data] path")
    instrument = None
    if form:
        from ..instrument.form import load_instrument

        instrument = load_instrument(form)
    designs = designs_from_cli(le_count, le_treat, control_items, rr_cols, draws, study=study, instrument=instrument)

    qis = split(qi)
    if not qis:
        if not form:
            raise QuietpollError("give --qi COLS, or --instrument FORM to propose them from the form")
        qis = propose_qi(instrument)
    frame = read_data(data).frame
    qis = [c for c in qis if c in frame.columns] if not split(qi) else qis
    result = disclosure_risk(frame, qis, sensitive=split(sensitive), k=k, weights=weights).to_dict()
    result["sensitive_designs"] = assess(frame, designs).to_dict()
    fmt_ = fmt_ or default_format()
    if fmt_ == "json":
        echo_json(result, default=float)
        return
    out = console()
    out.print(f"quasi-identifiers: {', '.join(result['qi'])}")
    out.print(
        f"k-anonymity {result['k_anonymity']} (k = {k}): {result['records_below_k']} record(s) below k, "
        f"{result['uniques']} unique; expected re-identifications "
        f"{fmt(result['expected_reidentifications'])}"
    )
    for col, l_div in result.get("l_diversity", {}).items():
        out.print(f"l-diversity of {col}: {l_div}")
    sd = result["sensitive_designs"]
    for d in sd["draw_columns"]:
        out.print(f"[bold]decodes answers[/bold]: {d['column']} ({d['reason']}): release drops it")
    for le in sd["list_experiments"]:
        flag = "[bold]decodes answers[/bold]: " if le["ceiling_rows"] or le["floor_rows"] else ""
        out.print(
            f"{flag}list experiment {le['count']} (J = {le['control_items']}): {le['ceiling_rows']} "
            f"treated row(s) at the ceiling {le['control_items'] + 1} (said yes) and {le['floor_rows']} "
            f"at the floor 0 (said no) of {le['treated_rows']} treated; release codes them"
        )
