"""Options shared by `disclosure` and `release` naming a data file's sensitive-question designs (list
experiments, randomized-response items, draw columns). Translation only: the work is in
quietpoll.disclosure.sensitive."""

from __future__ import annotations

from pathlib import Path

import click

from .options import split, study_or_none


def sensitive_options(f):
    """--list-experiment COUNT[,COL...] --treatment T --control-items J --randomized-response COL
    --draw COL[,COL...] --study STUDY (its [[report.indicators]] and form)."""
    options = [
        click.option(
            "--list-experiment",
            "le_count",
            multiple=True,
            help="List experiment: the item-count column (more columns after a comma: other columns "
            "holding the same count, coded alike).",
        ),
        click.option("--treatment", "le_treat", help="List experiment: the treatment (arm) column, 0/1."),
        click.option(
            "--control-items",
            type=int,
            help="List experiment: J, the number of control items (default: the largest control count).",
        ),
        click.option(
            "--randomized-response",
            "rr_cols",
            multiple=True,
            help="Randomized-response answer columns COL[,COL...] (their draws are dropped).",
        ),
        click.option(
            "--draw",
            "draws",
            multiple=True,
            help="Randomization draw columns COL[,COL...] (always dropped, with every column the form "
            "computes from them).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def designs_from_cli(le_count, le_treat, control_items, rr_cols, draws, *, study=None, instrument=None):
    """The SensitiveDesigns the flags (and the study's [[report.indicators]], when ``study`` is a study
    folder with a study.toml) name."""
    from ..disclosure.sensitive import designs_from

    cfg = study_or_none(study)
    return designs_from(
        sections=cfg.sections if cfg else None,
        instrument=instrument,
        list_experiment=split(le_count) or None,
        treatment=le_treat,
        control_items=control_items,
        randomized_response=split(rr_cols),
        draws=split(draws),
    )


def study_form(study, form):
    """--instrument, else the study's [instrument] path when it exists; and the study folder (None without
    --study). An error when --study does not exist."""
    cfg = study_or_none(study)
    if cfg is not None and not form:
        ipath = cfg.instrument.path
        if ipath and ipath.exists():
            form = str(ipath)
    folder = None
    if study is not None:
        folder = Path(study).parent if Path(study).is_file() else Path(study)
    return form, folder, cfg
