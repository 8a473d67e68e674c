"""The `estimate` and `crosstab` commands. Translation and formatting only: the work is in quietpoll.api
and quietpoll.estimators."""

from __future__ import annotations

import click

from ..errors import QuietpollError
from .errors import command
from .options import LazyChoice, design_options, split
from .output import FORMATS, console, default_format, echo_json, emit, fmt, rich_table
from .params import DF, KEY_VALUE, QUANTILE, RATIO


def _ci_methods() -> tuple[str, ...]:
    from ..estimators.ci import CI_METHODS

    return CI_METHODS + ("quantile",)


@command()
@click.argument("data", required=False, type=click.Path())
@design_options
@click.option("--mean", "means", multiple=True, help="Means of COL[,COL...].")
@click.option("--total", "totals", multiple=True, help="Totals of COL[,COL...].")
@click.option("--prop", "props", multiple=True, help="Proportions of each level of COL[,COL...].")
@click.option("--ratio", "ratios", multiple=True, type=RATIO, help="Ratio NUM/DEN.")
@click.option("--quantile", "quantiles", multiple=True, type=QUANTILE, help="Quantiles COL@P[,P...].")
@click.option("--list-experiment", "le_count", help="List experiment: the item-count column.")
@click.option("--treatment", "le_treat", help="List experiment: the treatment (long list) indicator column.")
@click.option(
    "--list-method",
    type=click.Choice(["diff", "ml"]),
    default="diff",
    show_default=True,
    help="List experiment estimator: difference in means, or Imai's (2011) maximum likelihood.",
)
@click.option(
    "--control-items",
    type=int,
    help="List experiment: number of control items J (default: the largest count among control rows).",
)
@click.option(
    "--design-effect-test",
    is_flag=True,
    help="List experiment: Blair-Imai test for design effects (floor and ceiling effects), per domain.",
)
@click.option("--randomized-response", "rr_col", help="Randomized response: the observed yes/no answer column.")
@click.option("--rr-design", type=click.Choice(["forced", "warner", "unrelated"]), help="Randomized-response design.")
@click.option("--rr-p-truth", type=float, help="Forced response: probability of answering truthfully.")
@click.option("--rr-p-yes", type=float, help="Forced response: probability of a forced yes.")
@click.option("--rr-p", type=float, help="Warner / unrelated question: probability of the sensitive question.")
@click.option("--rr-p-unrelated", type=float, help="Unrelated question: known yes share of the unrelated question.")
@click.option("--by", multiple=True, help="Domain columns COL[,COL...].")
@click.option(
    "--repeat",
    "repeat",
    metavar="TABLE",
    help="Estimate on a repeat table (a sheet of DATA, or the file DATA-TABLE beside it, e.g. a household "
    "roster) with its parent's design: each row takes its interview's weight, strata and clusters, and the "
    "interview (or its cluster) stays the sampling unit.",
)
@click.option(
    "--model",
    "model_",
    type=click.Choice(["design", "mrp"]),
    default="design",
    show_default=True,
    help="design: design-based estimates; mrp: multilevel regression and poststratification (NumPyro) of --prop "
    "(or --list-experiment) by --by, to --poststrat cells or the study's [weighting] targets.",
)
@click.option("--poststrat", type=click.Path(), help="With --model mrp: CSV of population cells (model variables + N).")
@click.option(
    "--mrp-seed", "mrp_seed", type=int, default=0, show_default=True, help="With --model mrp: the sampler's seed."
)
@click.option(
    "--compare",
    is_flag=True,
    help="With one --by column: each domain minus the first (R's svyby "
    'covmat = TRUE + svycontrast), rows with "statistic": "difference", "reference" and "p".',
)
@click.option("--domain", "domain_", multiple=True, type=KEY_VALUE, help="Restrict to one subpopulation: COL=VALUE.")
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option(
    "--ci-method",
    type=LazyChoice(_ci_methods),
    help="Interval method (proportions: default logit; quantiles: Woodruff with this method; others: wald).",
)
@click.option("--df", "df_", type=DF, default="design", show_default=True, help="design | inf | a number.")
@click.option("--format", "fmt_", type=click.Choice(FORMATS), help="Output (table on a terminal, else json).")
def estimate(
    data,
    design,
    means,
    totals,
    props,
    ratios,
    quantiles,
    le_count,
    le_treat,
    list_method,
    control_items,
    design_effect_test,
    rr_col,
    rr_design,
    rr_p_truth,
    rr_p_yes,
    rr_p,
    rr_p_unrelated,
    by,
    repeat,
    model_,
    poststrat,
    mrp_seed,
    compare,
    domain_,
    level,
    ci_method,
    df_,
    fmt_,
):
    """Design-based estimates with standard errors, intervals, design effects and df."""
    from .. import api

    ratio_pairs = [pair for given in ratios for pair in given]
    quantile_map: dict[str, list[float]] = {}
    for col, probs in quantiles:
        quantile_map.setdefault(col, []).extend(probs)
    domain = dict(domain_)
    if bool(le_count) != bool(le_treat):
        raise QuietpollError("--list-experiment COUNT_COL needs --treatment TREAT_COL (and the other way round)")
    if rr_col and not rr_design:
        raise QuietpollError("--randomized-response needs --rr-design forced|warner|unrelated and its probabilities")
    if (design_effect_test or list_method != "diff" or control_items is not None) and not le_count:
        raise QuietpollError(
            "--list-method, --control-items and --design-effect-test need --list-experiment "
            "COUNT_COL --treatment TREAT_COL"
        )
    if design_effect_test and fmt_ == "csv":
        raise QuietpollError("--design-effect-test is printed with --format json or table, not csv")
    sensitive = [c for c in (le_count, le_treat, rr_col) if c]
    analysis = (
        split(means)
        + split(totals)
        + split(props)
        + [c for pair in ratio_pairs for c in pair]
        + list(quantile_map)
        + split(by)
        + list(domain)
        + sensitive
        + [f"{v}/*" for v in split(props)]  # a select_multiple's 0/1 columns, as Kobo and ODK export them
    )
    if model_ == "mrp":
        if repeat:
            raise QuietpollError("--repeat goes with design-based estimates, not --model mrp")
        _mrp(
            design,
            data,
            split(props),
            split(by),
            (le_count, le_treat) if le_count else None,
            control_items,
            poststrat,
            level,
            mrp_seed,
            fmt_ or default_format(),
        )
        return
    if poststrat:
        raise QuietpollError("--poststrat goes with --model mrp")
    frame, des = design.load_repeat(data, repeat, analysis) if repeat else design.load(data, analysis)
    from ..estimators.multiselect import one_share_per_option, select_multiple_columns

    multi = select_multiple_columns(frame, split(props))
    table = api.estimate(
        frame,
        des,
        mean_=split(means),
        total_=split(totals),
        prop=[c for v in split(props) for c in (multi.get(v) or [v])],
        ratio_=ratio_pairs,
        quantile_=quantile_map,
        by=split(by),
        level=level,
        ci_method=ci_method,
        df=df_,
        domain=domain,
        list_experiment=(le_count, le_treat) if le_count else None,
        randomized_response=None
        if not rr_col
        else {
            "answer": rr_col,
            "rr_design": rr_design,
            "p_truth": rr_p_truth,
            "p_yes": rr_p_yes,
            "p": rr_p,
            "p_unrelated": rr_p_unrelated,
        },
        list_method=list_method,
        control_items=control_items,
        design_effect_test=design_effect_test,
    )
    if multi:
        table = one_share_per_option(table, multi)
    fmt_ = fmt_ or default_format()
    if compare:
        if len(split(by)) != 1:
            raise QuietpollError("--compare needs exactly one --by column (each of its domains minus the first)")
        if fmt_ == "csv":
            raise QuietpollError("--compare is printed with --format json or table, not csv")
        differences = domain_differences(table, split(by)[0], level, df_)
        if fmt_ == "json":
            obj = table.to_json_obj()
            obj["estimates"] += differences
            echo_json(obj)
            return
        emit(table, fmt_)
        _print_differences(differences, console())
        return
    emit(table, fmt_)
    if design_effect_test and fmt_ == "table":
        _print_design_effect_tests(table.design_effect_test, console())


def _mrp(design, data, props, by, list_experiment, control_items, poststrat, level, seed, fmt_) -> None:
    """`estimate --model mrp`: rows of the estimate contract with "method": "mrp", the posterior mean and
    interval, "rhat", "ess" (a fit failing its diagnostics is not published: no numbers)."""
    from ..estimators.mrp import mrp

    if len(by) > 1:
        raise QuietpollError("--model mrp takes one --by column")
    if len(props) + bool(list_experiment) != 1:
        raise QuietpollError("--model mrp estimates one --prop VAR or one --list-experiment at a time")
    if fmt_ == "csv":
        raise QuietpollError("--model mrp is printed with --format json or table, not csv")
    cfg = design.study
    targets = population = None
    cell_columns: list[str] = []
    if poststrat is not None:  # the model's variables are the cell table's columns (besides N)
        from pathlib import Path

        try:
            header = Path(poststrat).read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError):
            raise QuietpollError(f"--poststrat {poststrat!r} cannot be read as a CSV file") from None
        cell_columns = [c.strip().strip('"') for c in header.split(",") if c.strip().strip('"') != "N"]
    if poststrat is None:
        if cfg is None or cfg.weighting is None or not cfg.weighting.targets:
            raise QuietpollError("--model mrp needs --poststrat FILE, or --study with [weighting] targets")
        targets, population = cfg.weighting, cfg.weighting.population
    frame, _ = design.load(
        data, [*props, *by, *(list_experiment or ()), *(targets.targets if targets else ()), *cell_columns]
    )
    result = mrp(
        frame,
        props[0] if props else None,
        by=by[0] if by else None,
        poststrat=poststrat,
        targets=targets,
        population=population,
        list_experiment=list_experiment,
        control_items=control_items,
        level=level,
        seed=seed,
    )
    if fmt_ == "json":
        echo_json(result.to_json_obj())
        return
    t = rich_table(title=f"MRP: {result.model.get('formula', '')}")
    for c in ("variable", "level", "domain", "estimate", "interval", "rhat", "ess", "published"):
        t.add_column(c, justify="right" if c in ("estimate", "rhat", "ess") else "left")
    for r in result.to_dicts():
        dom = ", ".join(f"{k}={v}" for k, v in r["domain"].items())
        t.add_row(
            r["variable"],
            fmt(r["level"]),
            dom,
            fmt(r["estimate"], 4),
            f"[{fmt(r['ci_low'], 4)}, {fmt(r['ci_high'], 4)}]",
            fmt(r["rhat"], 3),
            fmt(r["ess"], 0),
            str(r["published"]),
        )
    console().print(t)


def domain_differences(table, by: str, level: float, df_: str | float = "design") -> list[dict]:
    """Each domain of `by` minus the first, per statistic and variable, from the table's joint covariance
    (quietpoll.estimators.contrasts.compare_domains): rows of the estimate contract with "statistic":
    "difference", "domain" and "reference" ({by: level}), "of" (the statistic compared) and "p"."""
    import numpy as np

    from ..estimators.contrasts import Estimates, compare_domains

    b, V = table.coef(), table.vcov()
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(table.rows):
        if list(r.domain) == [by]:
            groups.setdefault((r.statistic, r.variable, r.level), []).append(i)
    out = []
    for (stat, var, lev), idx in groups.items():
        if len(idx) < 2:
            continue
        rows = [table.rows[i] for i in idx]
        # the design's df, as R's svycontrast on svyby(covmat = TRUE) (not a domain's own df)
        df = float(table.design.get("df") or min(float(r.df) for r in rows)) if df_ == "design" else float(df_)
        est = Estimates(tuple(str(r.domain[by]) for r in rows), b[idx], V[np.ix_(idx, idx)], df, level)
        for d in compare_domains(est, level=level):
            out.append(
                {
                    "statistic": "difference",
                    "of": stat,
                    "variable": var,
                    "level": lev,
                    "domain": {by: d["domain"]},
                    "reference": {by: d["reference"]},
                    "estimate": d["estimate"],
                    "se": d["se"],
                    "ci_low": d["ci_low"],
                    "ci_high": d["ci_high"],
                    "level_ci": d["level_ci"],
                    "ci_method": "wald",
                    "df": None if d["df"] is None or d["df"] == float("inf") else d["df"],
                    "p": d["p"],
                }
            )
    return out


def _print_differences(rows: list[dict], out) -> None:
    t = rich_table(title="Differences between domains (each minus the first)")
    for c in ("of", "variable", "level", "domain", "reference", "difference", "se", "ci", "df", "p"):
        t.add_column(c, justify="right" if c in ("difference", "se", "df", "p") else "left")
    for r in rows:
        dom = ", ".join(f"{k}={v}" for k, v in r["domain"].items())
        ref = ", ".join(f"{k}={v}" for k, v in r["reference"].items())
        t.add_row(
            r["of"],
            r["variable"],
            fmt(r["level"]),
            dom,
            ref,
            fmt(r["estimate"], 6),
            fmt(r["se"], 4),
            f"[{fmt(r['ci_low'], 5)}, {fmt(r['ci_high'], 5)}]",
            fmt(r["df"]),
            fmt(r["p"], 3),
        )
    out.print(t)


def _print_design_effect_tests(tests, out) -> None:
    """The Blair-Imai test per domain: every pi(y, z) with its SE, then the p-values."""
    for res in tests:
        dom = ", ".join(f"{k}={v}" for k, v in res["domain"].items())
        t = rich_table(
            title=f"design-effect test: {res['variable']} by {res['treatment']}"
            + (f" ({dom})" if dom else "")
            + f", J = {res['control_items']}"
        )
        for c in ("pi(y, z)", "estimate", "se"):
            t.add_column(c, justify="left" if c == "pi(y, z)" else "right")
        for p in res["pi"]:
            t.add_row(f"pi(y = {p['y']}, z = {p['z']})", fmt(p["estimate"], 4), fmt(p["se"], 4))
        out.print(t)
        out.print(
            f"p (z = 1) = {fmt(res['p_value_z1'])}, p (z = 0) = {fmt(res['p_value_z0'])}; "
            f"Bonferroni-corrected p = {fmt(res['p_value'])} (small: evidence of a design effect)"
        )


@command()
@click.argument("args", nargs=-1, metavar="[DATA] ROW COL")
@design_options
@click.option(
    "--statistic",
    type=click.Choice(["F", "Chisq"]),
    default="F",
    show_default=True,
    help="Rao-Scott second-order F, or first-order corrected chi-square (R's svychisq).",
)
@click.option(
    "--cells",
    type=click.Choice(["shares", "row", "col", "counts"]),
    default="shares",
    show_default=True,
    help="What the table shows: population shares, row or column percentages, or weighted counts (JSON has them all).",
)
@click.option("--format", "fmt_", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def crosstab(args, design, statistic, cells, fmt_):
    """Two-way table of ROW by COL with a Rao-Scott corrected test of independence (DATA may be left out
    with --study: the study's [data] path)."""
    from ..estimators.crosstab import crosstab as _crosstab

    if len(args) == 3:
        data, row, col = args
    elif len(args) == 2 and design.study is not None:
        data, (row, col) = None, args
    else:
        raise click.UsageError("crosstab takes DATA ROW COL (or ROW COL with --study)")
    _, des = design.load(data, (row, col))
    res = _crosstab(des, row, col, statistic=statistic)
    fmt_ = fmt_ or default_format()
    if fmt_ == "json":
        echo_json(res.to_dict())
        return
    what, est, se, spec = {
        "shares": ("estimated population shares", res.proportions, res.se, ".4f"),
        "row": ("row percentages", res.row_percent, res.row_percent_se, ".1f"),
        "col": ("column percentages", res.col_percent, res.col_percent_se, ".1f"),
        "counts": ("weighted counts", res.counts, res.counts_se, ".1f"),
    }[cells]
    t = rich_table(title=f"{row} by {col}: {what} (se)")
    t.add_column(row)
    for c in res.col_levels:
        t.add_column(str(c), justify="right")
    for i, r in enumerate(res.row_levels):
        t.add_row(str(r), *[f"{est[i, j]:{spec}} ({se[i, j]:{spec}})" for j in range(len(res.col_levels))])
    out = console()
    out.print(t)
    d = res.to_dict()["test"]
    ddf = f", {fmt(d['ddf'])}" if d["ddf"] is not None else ""
    out.print(f"Rao-Scott {d['statistic']} = {fmt(d['value'])}, df = {fmt(d['ndf'])}{ddf}, p = {fmt(d['p_value'])}")
