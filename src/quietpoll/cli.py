"""The `quietpoll` command line. It only translates flags into API calls and formats results;
quietpoll's errors become one line on stderr and exit status 2 here, and only here."""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table as RichTable

from . import api
from .design import LONELY_PSU, REPLICATE_TYPES, DesignSpec, ReplicateSpec
from .cli_errors import QuietpollGroup, render_error
from .errors import QuietpollError
from .estimators.ci import CI_METHODS
from .io import read_data, write_data
from .study import load_study
from .cli_sensitive import sensitive_options

FORMATS = ("table", "json", "csv")


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _floats(text: str | None, flag: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise QuietpollError(f"{flag} takes numbers separated by commas, got '{text}'") from None


def _quantiles(values: tuple[str, ...]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for item in values:
        if "@" not in item:
            raise QuietpollError(f"--quantile takes COL@P[,P...], e.g. income@0.25,0.5; got '{item}'")
        col, probs = item.split("@", 1)
        out.setdefault(col.strip(), []).extend(_floats(probs, "--quantile") or [])
    return out


def _ratios(values: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for item in _split(values):
        if item.count("/") != 1:
            raise QuietpollError(f"--ratio takes NUM/DEN, e.g. api00/api99; got '{item}'")
        num, den = (s.strip() for s in item.split("/"))
        out.append((num, den))
    return out


def _domain(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise QuietpollError(f"--domain takes COL=VALUE, got '{item}'")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@click.group(cls=QuietpollGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="quietpoll")
def cli() -> None:
    """quietpoll: surveys of closed societies, from questionnaire to published numbers."""


_DESIGN_OPTIONS = [
    click.option("--study", type=click.Path(), help="study.toml (or its folder): data, design, options."),
    click.option("--weights", help="Sampling weight column."),
    click.option("--probs", help="Selection probability column (instead of weights)."),
    click.option("--strata", help="Stratum column."),
    click.option("--ids", multiple=True, help="Cluster id column per stage: COL[,COL...]."),
    click.option("--fpc", multiple=True, help="Population size or sampling fraction per stage: COL[,COL...]."),
    click.option("--nest", is_flag=True, default=None, help="Cluster ids are unique only within strata."),
    click.option("--lonely-psu", type=click.Choice(LONELY_PSU), help="Strata with one PSU (R's survey.lonely.psu)."),
    click.option("--repweights", help="Replicate weight columns: a glob such as 'rw*'."),
    click.option("--rep-type", type=click.Choice(sorted(REPLICATE_TYPES), case_sensitive=False),
              help="Replicate weight type (without --repweights: build them from the design)."),
    click.option("--rho", type=float, help="Fay coefficient."),
    click.option("--scale", type=float, help="Replicate variance scale."),
    click.option("--rscales", help="Per-replicate scales: X[,X...]."),
    click.option("--mse", is_flag=True, default=None, help="Centre replicates at the full-sample estimate."),
    click.option("--replicates", type=int, default=50, show_default=True,
              help="With --rep-type and no --repweights: bootstrap replicates to build from the design."),
    click.option("--seed", type=int, help="Random seed for building bootstrap replicates.")
]


def design_options(f):
    for opt in reversed(_DESIGN_OPTIONS):
        f = opt(f)
    return f


@cli.command()
@click.argument("data", required=False, type=click.Path())
@design_options
@click.option("--mean", "means", multiple=True, help="Means of COL[,COL...].")
@click.option("--total", "totals", multiple=True, help="Totals of COL[,COL...].")
@click.option("--prop", "props", multiple=True, help="Proportions of each level of COL[,COL...].")
@click.option("--ratio", "ratios", multiple=True, help="Ratio NUM/DEN.")
@click.option("--quantile", "quantiles", multiple=True, help="Quantiles COL@P[,P...].")
@click.option("--list-experiment", "le_count", help="List experiment: the item-count column.")
@click.option("--treatment", "le_treat", help="List experiment: the treatment (long list) indicator column.")
@click.option("--list-method", type=click.Choice(["diff", "ml"]), default="diff", show_default=True,
              help="List experiment estimator: difference in means, or Imai's (2011) maximum likelihood.")
@click.option("--control-items", type=int, help="List experiment: number of control items J (default: the "
              "largest count among control rows).")
@click.option("--design-effect-test", is_flag=True, help="List experiment: Blair-Imai test for design effects "
              "(floor and ceiling effects), per domain.")
@click.option("--randomized-response", "rr_col", help="Randomized response: the observed yes/no answer column.")
@click.option("--rr-design", type=click.Choice(["forced", "warner", "unrelated"]), help="Randomized-response design.")
@click.option("--rr-p-truth", type=float, help="Forced response: probability of answering truthfully.")
@click.option("--rr-p-yes", type=float, help="Forced response: probability of a forced yes.")
@click.option("--rr-p", type=float, help="Warner / unrelated question: probability of the sensitive question.")
@click.option("--rr-p-unrelated", type=float, help="Unrelated question: known yes share of the unrelated question.")
@click.option("--by", multiple=True, help="Domain columns COL[,COL...].")
@click.option("--domain", "domain_", multiple=True, help="Restrict to one subpopulation: COL=VALUE.")
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option("--ci-method", type=click.Choice(CI_METHODS + ("quantile",)), help="Interval method "
              "(proportions: default logit; quantiles: Woodruff with this method; others: wald).")
@click.option("--df", "df_", default="design", show_default=True, help="design | inf | a number.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output (table on a terminal, else json).")
def estimate(data, study, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights, rep_type, rho, scale,
             rscales, mse, replicates, seed, means, totals, props, ratios, quantiles, le_count, le_treat,
             list_method, control_items, design_effect_test, rr_col, rr_design, rr_p_truth, rr_p_yes, rr_p,
             rr_p_unrelated, by, domain_, level, ci_method, df_, fmt):
    """Design-based estimates with standard errors, intervals, design effects and df."""
    ratio_cols = [c for pair in _ratios(ratios) for c in pair]
    if bool(le_count) != bool(le_treat):
        raise QuietpollError("--list-experiment COUNT_COL needs --treatment TREAT_COL (and the other way round)")
    if rr_col and not rr_design:
        raise QuietpollError("--randomized-response needs --rr-design forced|warner|unrelated and its probabilities")
    if (design_effect_test or list_method != "diff" or control_items is not None) and not le_count:
        raise QuietpollError("--list-method, --control-items and --design-effect-test need --list-experiment "
                             "COUNT_COL --treatment TREAT_COL")
    if design_effect_test and fmt == "csv":
        raise QuietpollError("--design-effect-test is printed with --format json or table, not csv")
    sensitive = [c for c in (le_count, le_treat, rr_col) if c]
    analysis = (_split(means) + _split(totals) + _split(props) + ratio_cols + list(_quantiles(quantiles))
                + _split(by) + list(_domain(domain_)) + sensitive)
    frame, design = _load_design(data, study, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights,
                                 rep_type, rho, scale, rscales, mse, replicates, seed, analysis)
    df = df_ if df_ in ("design", "inf") else _floats(df_, "--df")[0]
    table = api.estimate(frame, design, mean_=_split(means), total_=_split(totals), prop=_split(props),
                         ratio_=_ratios(ratios), quantile_=_quantiles(quantiles), by=_split(by), level=level,
                         ci_method=ci_method, df=df, domain=_domain(domain_),
                         list_experiment=(le_count, le_treat) if le_count else None,
                         randomized_response=None if not rr_col else {
                             "answer": rr_col, "rr_design": rr_design, "p_truth": rr_p_truth, "p_yes": rr_p_yes,
                             "p": rr_p, "p_unrelated": rr_p_unrelated},
                         list_method=list_method, control_items=control_items, design_effect_test=design_effect_test)
    fmt = fmt or _default_format()
    _emit(table, fmt)
    if design_effect_test and fmt == "table":
        _print_design_effect_tests(table.design_effect_test, _console())


def _print_design_effect_tests(tests, console: Console) -> None:
    """The Blair-Imai test per domain: every pi(y, z) with its SE, then the p-values."""
    for res in tests:
        dom = ", ".join(f"{k}={v}" for k, v in res["domain"].items())
        t = RichTable(title=f"design-effect test: {res['variable']} by {res['treatment']}"
                      + (f" ({dom})" if dom else "") + f", J = {res['control_items']}")
        for c in ("pi(y, z)", "estimate", "se"):
            t.add_column(c, justify="left" if c == "pi(y, z)" else "right")
        for p in res["pi"]:
            t.add_row(f"pi(y = {p['y']}, z = {p['z']})", _fmt(p["estimate"], 4), _fmt(p["se"], 4))
        console.print(t)
        console.print(f"p (z = 1) = {_fmt(res['p_value_z1'])}, p (z = 0) = {_fmt(res['p_value_z0'])}; "
                      f"Bonferroni-corrected p = {_fmt(res['p_value'])} (small: evidence of a design effect)")


def _load_design(data, study, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights, rep_type, rho,
                 scale, rscales, mse, replicates, seed, analysis=(), weighting=True):
    """The data and the design from DATA, --study and the design flags (flags override the file).
    With --study the study pipeline prepares them (quietpoll.pipeline.prepare_study: with a form, the
    responses are validated and checked and flagged interviews excluded as [quality] says, exactly as
    report, export and weight have them). Without a form only the columns the design and the
    `analysis` columns need are loaded."""
    cfg = load_study(study) if study else None
    path = Path(data) if data else (cfg.data_path if cfg else None)
    if path is None:
        raise QuietpollError("no data: give a DATA file or --study with a [data] path")
    spec, build = _design_spec(cfg, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights, rep_type,
                               rho, scale, rscales, mse, replicates, seed)
    from .pipeline import prepare_study, read_design_data

    if cfg is not None:
        prepared = prepare_study(cfg, data=data, design=spec, build_design=build, weighting=weighting,
                                 columns=list(analysis))
        return prepared.frame, prepared.weighted   # weighted in the same run, so the SEs reflect it
    frame = read_design_data(path, spec, analysis)
    return frame, build(frame)


def _design_spec(cfg, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights, rep_type, rho, scale,
                 rscales, mse, replicates, seed):
    """The study's [design] with the flags over it, and how to build the design from a frame (with
    replicate weights built from the Taylor design when --rep-type comes without --repweights)."""
    spec = cfg.design if cfg and cfg.design else DesignSpec()
    rep = spec.replicates
    build_from = None
    if rep_type and not repweights and rep is None:
        build_from = rep_type   # build replicate weights from the Taylor design (as.svrepdesign)
    elif repweights or rep_type or rep is not None:
        base = rep or ReplicateSpec(columns=repweights or "", type=rep_type or "other")
        rep = ReplicateSpec(columns=repweights or base.columns, type=rep_type or base.type,
                            rho=rho if rho is not None else base.rho,
                            scale=scale if scale is not None else base.scale,
                            rscales=tuple(_floats(rscales, "--rscales")) if rscales else base.rscales,
                            mse=mse if mse is not None else base.mse)
        if not rep.columns:
            raise QuietpollError("--rep-type needs --repweights (a glob over the replicate weight columns)")
    spec = DesignSpec(
        weights=weights or spec.weights, probs=probs or spec.probs, strata=strata or spec.strata,
        ids=tuple(_split(ids)) or spec.ids, fpc=tuple(_split(fpc)) or spec.fpc,
        nest=nest if nest is not None else spec.nest, lonely_psu=lonely_psu or spec.lonely_psu, replicates=rep)

    def build(frame):
        design = spec.build(frame)
        if build_from:   # as.svrepdesign
            design = api.as_svrepdesign(design, build_from, replicates=replicates, seed=seed, rho=rho, mse=bool(mse))
        return design

    return spec, build


@cli.command()
@click.argument("data", type=click.Path())
@click.argument("row")
@click.argument("col")
@design_options
@click.option("--statistic", type=click.Choice(["F", "Chisq"]), default="F", show_default=True,
              help="Rao-Scott second-order F, or first-order corrected chi-square (R's svychisq).")
@click.option("--cells", type=click.Choice(["shares", "row", "col", "counts"]), default="shares", show_default=True,
              help="What the table shows: population shares, row or column percentages, or weighted counts "
              "(JSON has them all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def crosstab(data, row, col, study, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights, rep_type, rho,
             scale, rscales, mse, replicates, seed, statistic, cells, fmt):
    """Two-way table of ROW by COL with a Rao-Scott corrected test of independence."""
    from .estimators.crosstab import crosstab as _crosstab

    _, design = _load_design(data, study, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights,
                             rep_type, rho, scale, rscales, mse, replicates, seed, (row, col))
    res = _crosstab(design, row, col, statistic=statistic)
    fmt = fmt or _default_format()
    if fmt == "json":
        click.echo(json.dumps(res.to_dict(), allow_nan=False))
        return
    what, est, se, spec = {"shares": ("estimated population shares", res.proportions, res.se, ".4f"),
                           "row": ("row percentages", res.row_percent, res.row_percent_se, ".1f"),
                           "col": ("column percentages", res.col_percent, res.col_percent_se, ".1f"),
                           "counts": ("weighted counts", res.counts, res.counts_se, ".1f")}[cells]
    t = RichTable(title=f"{row} by {col}: {what} (se)")
    t.add_column(row)
    for c in res.col_levels:
        t.add_column(str(c), justify="right")
    for i, r in enumerate(res.row_levels):
        t.add_row(str(r), *[f"{est[i, j]:{spec}} ({se[i, j]:{spec}})" for j in range(len(res.col_levels))])
    console = _console()
    console.print(t)
    d = res.to_dict()["test"]
    ddf = f", {_fmt(d['ddf'])}" if d["ddf"] is not None else ""
    console.print(f"Rao-Scott {d['statistic']} = {_fmt(d['value'])}, df = {_fmt(d['ndf'])}{ddf}, "
                  f"p = {_fmt(d['p_value'])}")


@cli.command()
@click.argument("data", required=False, type=click.Path())
@design_options
@click.option("--out", "out", required=True, type=click.Path(), help="Where to write the weighted data.")
@click.option("--weight-column", default="final_weight", show_default=True, help="Name of the new weight column.")
@click.option("--max-share", type=float, default=0.05, show_default=True,
              help="Warn when one respondent carries more than this share of the total weight.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Diagnostics output.")
def weight(data, study, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights, rep_type, rho, scale,
           rscales, mse, replicates, seed, out, weight_column, max_share, fmt):
    """Weight the sample to the study's [weighting] targets; write the data with the final weights.
    With a form in the study, interviews excluded by the quality checks ([quality]) get no weight."""
    from .pipeline import prepare_study
    from .weighting.diagnostics import diagnostics
    from .weighting.targets import parse_targets

    cfg = load_study(study) if study else None
    if cfg is None or cfg.weighting is None:
        raise QuietpollError("weight needs --study with a [weighting] section (method and targets)")
    spec, build = _design_spec(cfg, weights, probs, strata, ids, fpc, nest, lonely_psu, repweights, rep_type,
                               rho, scale, rscales, mse, replicates, seed)
    prepared = prepare_study(cfg, data=data, design=spec, build_design=build)
    design, weighted, collapsed = prepared.design, prepared.weighted, list(prepared.collapsed)
    full = read_data(prepared.data_path).frame
    if full.height != prepared.n_read:    # pragma: no cover - read_responses keeps every row of the file
        raise QuietpollError(f"'{prepared.data_path}' has {full.height} rows but {prepared.n_read} were read")
    margins = (parse_targets(cfg.weighting.targets, design.data, population=cfg.weighting.population)
               if cfg.weighting.targets and not collapsed else None)
    diag = diagnostics(design.data, design.weights, weighted.weights, margins=margins, max_share=max_share).to_dict()
    diag["collapsed"] = collapsed
    diag["excluded"] = [e.to_dict() for e in prepared.exclusions]
    result = full.with_columns(prepared.final_weights(weight_column))
    result = result.with_columns([prepared.by_row(a, c) for c, a in weighted.replicate_columns().items()])
    write_data(result, out)
    fmt = fmt or _default_format()
    if fmt == "json":
        click.echo(json.dumps(diag, allow_nan=False, default=float))
        return
    console = _console()
    console.print(f"wrote {out}: {len(result)} rows, weight column '{weight_column}'"
                  + (f" (empty for {len(prepared.exclusions)} interview(s) excluded by the quality checks)"
                     if prepared.exclusions else ""))
    console.print(f"Kish design effect {_fmt(diag['kish_deff'])}, effective n {_fmt(diag['effective_n'])}")
    t = RichTable(title="margins: target vs achieved")
    for c in ("variable", "level", "target", "achieved"):
        t.add_column(c)
    for m in diag.get("margins", []):
        t.add_row(str(m.get("variable")), str(m.get("level", "")), _fmt(m.get("target")), _fmt(m.get("achieved")))
    console.print(t)
    for w in diag.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {w}")


@cli.command()
@click.argument("data", type=click.Path())
@click.option("--instrument", "form", required=True, type=click.Path(), help="The XLSForm (.xlsx, .xls, .csv, .md).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def validate(data, form, fmt):
    """Check every answer against the questionnaire: type, choice, constraint, relevance, required."""
    from .quality.validation import validate as _validate

    instrument, responses = _form_and_responses(data, form)
    result = _validate(responses.main, instrument).to_dict()
    fmt = fmt or _default_format()
    if fmt == "json":
        click.echo(json.dumps(result, allow_nan=False, default=str))
        return
    console = _console()
    t = RichTable(title=f"{len(result['problems'])} problem(s) in {result['n_rows']} rows")
    for c in ("row", "column", "rule", "value", "message"):
        t.add_column(c)
    for p in result["problems"][:500]:
        t.add_row(str(p["row"]), str(p["column"]), p["rule"], str(p["value"]), p["message"])
    console.print(t)
    for u in result.get("unsupported", []):
        console.print(f"[yellow]not checked[/yellow] {u['question']}: {u['expression']} ({u['reason']})")


@cli.command()
@click.argument("data", type=click.Path())
@click.option("--instrument", "form", required=True, type=click.Path(), help="The XLSForm.")
@click.option("--interviewer", help="Interviewer / intermediary column (default: the form's or export's).")
@click.option("--threshold", type=float, help="Percent-match flag threshold (default: simulated for this form).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the null simulation.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def quality(data, form, interviewer, threshold, seed, fmt):
    """Fabrication and quality checks: near-duplicates, durations, straightlining, non-response,
    interviewer effects."""
    from .quality.report import quality_report

    instrument, responses = _form_and_responses(data, form)
    result = quality_report(responses.main, instrument, interviewer=interviewer, threshold=threshold,
                            seed=seed).to_dict()
    fmt = fmt or _default_format()
    if fmt == "json":
        click.echo(json.dumps(result, allow_nan=False, default=str))
        return
    console = _console()
    console.print(f"{result['n_rows']} interviews, {len(result['questions'])} questions compared; "
                  f"percent-match threshold {_fmt(result['threshold'])} ({result['threshold_rule']})")
    t = RichTable(title=f"{len(result['near_duplicates'])} near-duplicate pair(s)")
    for c in ("row", "match_row", "share", "compared", "interviewer"):
        t.add_column(c)
    for d in result["near_duplicates"][:200]:
        t.add_row(str(d["row"]), str(d["match_row"]), f"{d['share']:.3f}", str(d.get("compared", "")),
                  str(d.get("interviewer", "")))
    console.print(t)
    for key in ("durations", "straightlining", "interviewer_effects"):
        items = result.get(key) or []
        console.print(f"{key}: {len(items)} finding(s)")


@cli.command()
@click.argument("directory", type=click.Path())
@click.option("--template", default="foreign-media", show_default=True, help="Built-in questionnaire template.")
def init(directory, template):
    """Create a study folder from a template: study.toml, the XLSForm and a README for the field team."""
    from .instrument.templates import create_study

    path = create_study(Path(directory), template)
    click.echo(f"created {path}: study.toml, form.xlsx, README-field-team.md")


@cli.command()
@click.argument("form", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["markdown", "html", "json"]), default="markdown",
              show_default=True)
@click.option("--out", type=click.Path(), help="Write to this file instead of standard output.")
def codebook(form, fmt, out):
    """The questionnaire's codebook: questions, types, labels in each language, choices, skip logic."""
    from .instrument.codebook import codebook as _codebook
    from .instrument.form import load_instrument

    text = _codebook(load_instrument(form), format=fmt)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        click.echo(text)


@cli.command()
@click.argument("data", type=click.Path())
@click.option("--qi", multiple=True, help="Quasi-identifiers COL[,COL...] (default: proposed from --instrument).")
@click.option("--sensitive", multiple=True, help="Sensitive columns COL[,COL...] (for l-diversity).")
@click.option("--k", "k", type=int, default=5, show_default=True, help="k for k-anonymity.")
@click.option("--weights", help="Weight column (individual risk uses the estimated population frequencies).")
@click.option("--instrument", "form", type=click.Path(), help="The XLSForm, to propose quasi-identifiers "
              "(and find its device-only draws and what is computed from them).")
@click.option("--study", type=click.Path(), help="Study folder: its [[report.indicators]] name the list "
              "experiments and randomized-response items; its form is the default --instrument.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
@sensitive_options
def disclosure(data, qi, sensitive, k, weights, form, study, fmt, le_count, le_treat, control_items, rr_cols,
               draws):
    """Re-identification risk of a data file: k-anonymity, records below k, l-diversity, individual
    risk, expected re-identifications; and what decodes a sensitive answer: randomization draws (and
    columns computed from them) and list-experiment ceiling (J+1) and floor (0) rows of the treated arm."""
    from .cli_sensitive import designs_from_cli
    from .disclosure.risk import disclosure_risk, propose_qi
    from .disclosure.sensitive import assess

    if study and not Path(study).exists():
        raise QuietpollError(f"--study {study!r} does not exist")
    if study and not form:
        folder = Path(study).parent if Path(study).is_file() else Path(study)
        ipath = load_study(folder).instrument.path if (folder / "study.toml").exists() else None
        if ipath and ipath.exists():
            form = str(ipath)
    instrument = None
    if form:
        from .instrument.form import load_instrument

        instrument = load_instrument(form)
    designs = designs_from_cli(le_count, le_treat, control_items, rr_cols, draws, study=study, instrument=instrument)

    qis = _split(qi)
    if not qis:
        if not form:
            raise QuietpollError("give --qi COLS, or --instrument FORM to propose them from the form")
        qis = propose_qi(instrument)
    frame = read_data(data).frame
    qis = [c for c in qis if c in frame.columns] if not _split(qi) else qis
    result = disclosure_risk(frame, qis, sensitive=_split(sensitive), k=k, weights=weights).to_dict()
    result["sensitive_designs"] = assess(frame, designs).to_dict()
    fmt = fmt or _default_format()
    if fmt == "json":
        click.echo(json.dumps(result, allow_nan=False, default=float))
        return
    console = _console()
    console.print(f"quasi-identifiers: {', '.join(result['qi'])}")
    console.print(f"k-anonymity {result['k_anonymity']} (k = {k}): {result['records_below_k']} record(s) below k, "
                  f"{result['uniques']} unique; expected re-identifications "
                  f"{_fmt(result['expected_reidentifications'])}")
    for col, l_div in result.get("l_diversity", {}).items():
        console.print(f"l-diversity of {col}: {l_div}")
    sd = result["sensitive_designs"]
    for d in sd["draw_columns"]:
        console.print(f"[bold]decodes answers[/bold]: {d['column']} ({d['reason']}): release drops it")
    for le in sd["list_experiments"]:
        flag = "[bold]decodes answers[/bold]: " if le["ceiling_rows"] or le["floor_rows"] else ""
        console.print(f"{flag}list experiment {le['count']} (J = {le['control_items']}): {le['ceiling_rows']} "
                      f"treated row(s) at the ceiling {le['control_items'] + 1} (said yes) and {le['floor_rows']} "
                      f"at the floor 0 (said no) of {le['treated_rows']} treated; release codes them")


@cli.command()
@click.option("--out", "out", default="quietpoll-demo", show_default=True, type=click.Path(),
              help="Folder for the SYNTHETIC study (OUT/study), report.html and report.json.")
@click.option("--seed", type=int, default=20261122, show_default=True, help="Seed of the synthetic data.")
@click.option("--public-data", is_flag=True,
              help="Instead: design-based estimates on bundled public data (California API, R's survey).")
def demo(out, seed, public_data) -> None:
    """The whole pipeline on a SYNTHETIC study with a known truth: generate -> validate -> quality ->
    weight to census margins -> estimate -> disclosure risk -> report."""
    from .demo import run_demo, run_public_demo

    console = _console()
    if public_data:
        run_public_demo(console)
        return
    res = run_demo(out, seed=seed, progress=lambda msg: console.print(f"[dim]... {msg}[/dim]"))
    s = res.summary
    console.print("[bold reverse] SYNTHETIC DATA [/bold reverse] generated by quietpoll; no real respondents. "
                  f"Study: {res.study_dir}")
    t = RichTable(title="SYNTHETIC demo: true value vs naive and weighted estimates",
                  caption=f"weighted: raked to census margins, 95% CI; naive: unweighted, +/- 2 SRS SE; "
                          f"{s['n_analysed']} of {s['n_interviews']} interviews analysed")
    for c in ("indicator", "truth", "naive", "weighted [95% CI]", "covered?"):
        t.add_column(c, justify="left" if c == "indicator" else "right")
    for r in s["indicators"]:
        naive = f"{_fmt(r['naive'], 3)}" + (" [red](miss)[/red]" if r.get("naive_miss") else "")
        covered = "-" if "covered" not in r else ("[green]yes[/green]" if r["covered"] else "[red]no[/red]")
        t.add_row(r["label"], _fmt(r.get("truth"), 3), naive,
                  f"{_fmt(r['estimate'], 3)} [{_fmt(r['ci_low'], 3)}, {_fmt(r['ci_high'], 3)}]", covered)
    console.print(t)
    n_cov = sum(bool(r.get("covered")) for r in s["indicators"])
    n_miss = sum(bool(r.get("naive_miss")) for r in s["indicators"])
    w = s["weighting"]
    console.print(f"weighted intervals cover the truth for {n_cov} of {len(s['indicators'])} indicators; "
                  f"naive estimates miss it by more than 2 SE for {n_miss}")
    console.print(f"validation: {s['validation_problems']} problem(s); copied interviews flagged: data rows "
                  f"{', '.join(str(r + 1) for r in s['flagged_rows']) or 'none'} (dropped before weighting); "
                  f"Kish design effect {_fmt(w['kish_deff'], 3)}, effective n {_fmt(w['effective_n'], 3)}")
    if s.get("disclosure"):
        d = s["disclosure"]
        console.print(f"disclosure risk on {', '.join(d['qi'])}: k-anonymity {d['k_anonymity']}, "
                      f"{d['records_below_k']} record(s) below k = {d['k']} (respondent-level data must not be "
                      "published; the report shows tables only)")
    if res.html_path is not None:
        console.print(f"[bold]report:[/bold] {res.html_path} (numbers in {res.json_path})")
    else:
        console.print("[yellow]no report was written[/yellow]")


def _console() -> Console:
    """A rich console: the terminal's width, or 160 columns when the output is piped."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _default_format() -> str:
    """table on a terminal, json when the output goes to a file or another program."""
    return "table" if sys.stdout.isatty() else "json"


def _form_and_responses(data, form):
    """The questionnaire and the data file read as that form's responses."""
    from .instrument.exports import read_responses
    from .instrument.form import load_instrument

    instrument = load_instrument(form)
    return instrument, read_responses(data, instrument)


def _emit(table, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(table.to_json_obj(), allow_nan=False))
    elif fmt == "csv":
        from .safe_output import neutralize_formulas

        click.echo(neutralize_formulas(table.to_polars()).write_csv(), nl=False)
    else:
        print_table(table, _console())


def _fmt(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def print_table(table, console: Console, title: str | None = None) -> None:
    d = table.design
    cap = f"{d.get('kind')} design, n = {d.get('n')}, df = {_fmt(d.get('df'))}"
    t = RichTable(title=title, caption=cap, show_lines=False)
    for col in ("statistic", "variable", "level", "domain", "estimate", "se", "ci", "df", "deff", "n", "missing"):
        t.add_column(col, justify="right" if col in ("estimate", "se", "df", "deff", "n", "missing") else "left")
    for r in table.rows:
        dom = ", ".join(f"{k}={v}" for k, v in r.domain.items())
        ci = f"[{_fmt(r.ci_low, 5)}, {_fmt(r.ci_high, 5)}] {r.ci_method}"
        stat = f"{r.statistic} ({r.method})" if getattr(r, "method", None) else r.statistic
        t.add_row(stat, r.variable, _fmt(r.level), dom, _fmt(r.estimate, 6), _fmt(r.se, 4), ci,
                  _fmt(r.df, 4), _fmt(r.deff, 3), str(r.n), str(r.n_missing))
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line and exit status 2 for any quietpoll or usage error, never a traceback."""
    warnings.formatwarning = lambda msg, *a, **k: f"quietpoll: warning: {msg}\n"
    try:
        cli.main(args=argv, prog_name="quietpoll", standalone_mode=False)
    except QuietpollError as e:
        click.echo(f"quietpoll: error: {render_error(e)}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("quietpoll: aborted", err=True)
        return 2
    except click.ClickException as e:
        click.echo(f"quietpoll: error: {e.format_message()}", err=True)
        return 2
    except BrokenPipeError:
        return 0
    return 0


from . import cli_collect  # noqa: E402,F401  (registers keys, tokens, store, pull, serve)
from . import cli_release  # noqa: E402,F401  (registers release)
from . import cli_report  # noqa: E402,F401  (registers report)
from . import cli_export  # noqa: E402,F401  (registers export)
from . import cli_model  # noqa: E402,F401  (registers model)

if __name__ == "__main__":
    sys.exit(main())
