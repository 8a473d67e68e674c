"""The `init` and `codebook` commands: a study folder from a template, and the questionnaire's codebook.
Translation only: the work is in quietpoll.instrument."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import QuietpollError
from .errors import command
from .options import study_argument, study_option, study_or_none


@command()
@study_argument()
@click.option("--template", default="foreign-media", show_default=True, help="Built-in questionnaire template.")
@click.option(
    "--from-form",
    "from_form",
    type=click.Path(),
    help="Start from an existing XLSForm instead of a "
    "template (e.g. a KoboToolbox or ODK form): it is copied into the study.",
)
@click.option("--data", "data", type=click.Path(), help="With --from-form: the existing responses, copied in.")
def init(study, template, from_form, data):
    """Create a study folder STUDY (or --study DIR) from a template (study.toml, the XLSForm and a README
    for the field team), or with --from-form FORM [--data FILE] for a questionnaire and data that exist."""
    from ..instrument.templates import create_from_form, create_study

    if data is not None and from_form is None:
        raise QuietpollError("--data goes with --from-form FORM")
    if from_form is not None:
        path = create_from_form(Path(study), Path(from_form), None if data is None else Path(data))
        names = sorted(p.name for p in path.iterdir())
        click.echo(f"created {path}: {', '.join(names)}")
        return
    path = create_study(Path(study), template)
    click.echo(f"created {path}: study.toml, form.xlsx, README-field-team.md")


@command()
@click.argument("form", required=False, type=click.Path())
@study_option("Study folder: its [instrument] path is the default FORM.")
@click.option(
    "--format", "fmt_", type=click.Choice(["markdown", "html", "json"]), default="markdown", show_default=True
)
@click.option("--out", type=click.Path(), help="Write to this file instead of standard output.")
def codebook(form, study, fmt_, out):
    """The questionnaire's codebook: questions, types, labels in each language, choices, skip logic."""
    from ..instrument.codebook import codebook as _codebook
    from ..instrument.form import load_instrument

    cfg = study_or_none(study)
    form = form or (cfg.instrument.path if cfg else None)
    if form is None:
        raise QuietpollError("no form: give FORM or --study with an [instrument] path")
    text = _codebook(load_instrument(form), format=fmt_)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        click.echo(text)
