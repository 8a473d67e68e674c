"""The `model` and `ttest` commands of the `quietpoll` CLI (R's svyglm + summary + confint). Translation and
formatting only: the work is in quietpoll.estimators.glm."""

from __future__ import annotations

import json
import re

import click

from ..errors import QuietpollError
from .errors import command
from .options import design_options
from .output import console, default_format, rich_table
from .output import fmt as _fmt

_NAME = re.compile(r"`([^`]+)`|([A-Za-z_.][A-Za-z0-9_.]*)")


def _names(*texts: str | None) -> list[str]:
    """Every name in a formula or subset expression: the columns to load (others are not loaded)."""
    out: list[str] = []
    for t in texts:
        for m in _NAME.finditer(t or ""):
            out.append(m.group(1) or m.group(2))
    return out


@command()
@click.argument("data", required=False, type=click.Path())
@click.argument("formula", required=False)
@design_options
@click.option(
    "--family",
    default="gaussian",
    show_default=True,
    help="gaussian, binomial, quasibinomial, poisson, quasipoisson or Gamma (R's default links).",
)
@click.option(
    "--subset",
    "subset",
    help="Fit in a subpopulation (R's subset(design, ...)), e.g. "
    "\"region == 'north' & age >= 18\": comparisons ==, !=, <, <=, >, >=, 'in [a, b]', "
    "is.na(col), combined with &, |, ! and parentheses. No PSU is dropped.",
)
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option(
    "--test",
    "tests",
    multiple=True,
    help="Wald test that these terms are zero, as R's regTermTest: "
    "TERM[+TERM...] as R names them (e.g. stype, factor(dom), ell:meals); repeatable. JSON key 'tests'.",
)
@click.option(
    "--test-method",
    type=click.Choice(["F", "Chisq", "LRT"]),
    default="F",
    show_default=True,
    help="Wald F on the residual df, Wald chi-square, or the Rao-Scott working likelihood-ratio "
    'test (R\'s method = "LRT", saddlepoint p-value on the residual df).',
)
@click.option(
    "--margins",
    "margins",
    multiple=True,
    help="Predictive margins by this column (R's svypredmeans: mean predicted response with the column set to "
    "each level; added to the model when it is not in it); repeatable. JSON key 'margins'.",
)
@click.option(
    "--ame",
    "ames",
    multiple=True,
    help="Average marginal effect of this column (numeric: mean derivative of the predicted response; factor: "
    "mean difference of predictions from the reference level), delta-method SEs through the design; "
    "repeatable. JSON key 'ame'.",
)
@click.option(
    "--contrast",
    "contrasts",
    multiple=True,
    help="A contrast of the coefficients as R's svycontrast: an expression over the coefficient names, e.g. "
    "'stypeH - stypeM' or 'exp(`(Intercept)` + ell)' (names that are not identifiers in backticks); "
    "repeatable. JSON key 'contrasts'.",
)
@click.option(
    "--list-experiment",
    "list_experiment",
    is_flag=True,
    help="FORMULA's response is a list experiment's "
    "item count: regression of the sensitive item and the control count (Imai 2011; R's ictreg); "
    "needs --treatment.",
)
@click.option("--treatment", help="With --list-experiment: the treatment (long list) indicator column.")
@click.option(
    "--list-method",
    type=click.Choice(["lm", "ml"]),
    default="ml",
    show_default=True,
    help="With --list-experiment: the linear (interaction) model or maximum likelihood.",
)
@click.option("--control-items", type=int, help="With --list-experiment: number of control items J.")
@click.option(
    "--randomized-response",
    "randomized_response",
    is_flag=True,
    help="FORMULA's response is a "
    "randomized-response answer: logistic regression of the true answer (Blair, Imai and Zhou 2015; "
    "R's rrreg); needs --rr-design and its probabilities.",
)
@click.option("--rr-design", type=click.Choice(["forced", "warner", "unrelated"]), help="Randomized-response design.")
@click.option("--rr-p-truth", type=float, help="Forced response: probability of answering truthfully.")
@click.option("--rr-p-yes", type=float, help="Forced response: probability of a forced yes.")
@click.option("--rr-p", type=float, help="Warner / unrelated question: probability of the sensitive question.")
@click.option("--rr-p-unrelated", type=float, help="Unrelated question: known yes share of the unrelated question.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), help="Output (table on a terminal, else json)."
)
def model(
    data,
    formula,
    family,
    subset,
    level,
    tests,
    test_method,
    margins,
    ames,
    contrasts,
    list_experiment,
    treatment,
    list_method,
    control_items,
    randomized_response,
    rr_design,
    rr_p_truth,
    rr_p_yes,
    rr_p,
    rr_p_unrelated,
    fmt,
    design,
):
    """Design-based GLM of FORMULA (R's formula language: y ~ x + factor(g) + x:z), as R's svyglm:
    coefficients with design-based SEs, t, residual df, p and intervals."""
    from ..estimators.glm import glm

    if formula is None:  # `quietpoll model --study DIR FORMULA`: the one argument is the formula
        if data is None or "~" not in data:
            raise QuietpollError(
                "model needs a FORMULA such as 'y ~ x + factor(g)' (after DATA, or alone with --study)"
            )
        data, formula = None, data
    if list_experiment or randomized_response:
        _sensitive_model(
            design,
            data,
            formula,
            list_experiment,
            treatment,
            list_method,
            control_items,
            randomized_response,
            rr_design,
            (rr_p_truth, rr_p_yes, rr_p, rr_p_unrelated),
            level,
            fmt or default_format(),
            bool(subset or tests or margins or ames or contrasts),
        )
        return
    _, des = design.load(data, _names(formula, subset, *margins, *ames))
    res = glm(des, formula, family, subset=subset, level=level)
    out = res.to_dict()
    if tests:
        out["tests"] = [res.reg_term_test(t, test_method) for t in tests]
    if margins or ames:
        from ..estimators.margins import ame, margins_rows

        if margins:
            out["margins"] = [r for v in margins for r in margins_rows(res, v)]
        if ames:
            out["ame"] = [r for v in ames for r in ame(res, v)]
    if contrasts:
        from ..estimators.contrasts import contrast

        out["contrasts"] = contrast(res, list(contrasts)).rows()
    fmt = fmt or default_format()
    if fmt == "json":
        click.echo(json.dumps(out, allow_nan=False))
        return
    if fmt == "csv":
        if tests or margins or ames or contrasts:
            raise QuietpollError(
                "--test, --margins, --ame and --contrast are printed with --format json or table, not csv"
            )
        _coefficients_csv(out["coefficients"], COEFFICIENT_KEYS)
        return
    m = out["model"]
    t = rich_table(
        title=f"{m['formula']}  ({m['family']}, link {m['link']}; n = {m['n']}, residual df = "
        f"{_fmt(m['df_residual'])}, dispersion {_fmt(m['dispersion'])})"
    )
    pct = f"{100 * level:g}%"
    for c in ("term", "estimate", "se", "t", "p", f"{pct} low", f"{pct} high"):
        t.add_column(c, justify="left" if c == "term" else "right")
    for r in out["coefficients"]:
        if r["aliased"]:
            t.add_row(r["term"], "NA (aliased)", "", "", "", "", "")
            continue
        t.add_row(
            r["term"],
            _fmt(r["estimate"]),
            _fmt(r["se"]),
            _fmt(r["statistic"], 3),
            _fmt(r["p"], 3),
            _fmt(r["ci_low"]),
            _fmt(r["ci_high"]),
        )
    out_console = console()
    out_console.print(t)
    for r in out.get("tests", []):
        if r["method"] == "LRT":
            ddf = f"; denominator df {_fmt(r['ddf'])}" if r["ddf"] is not None else ""
            out_console.print(
                f"Working (Rao-Scott) LRT of {' + '.join(r['terms'])}: 2logLR = {_fmt(r['statistic_scaled'])} "
                f"(deviance difference {_fmt(r['statistic'])}, mean design effect {_fmt(r['scale'])}), "
                f"{r['df']} df{ddf}, p = {_fmt(r['p'], 3)}"
            )
            continue
        ddf = f", {_fmt(r['ddf'])}" if r["ddf"] is not None else ""
        out_console.print(
            f"Wald test of {' + '.join(r['terms'])}: {r['method']} = {_fmt(r['statistic'])} on "
            f"{r['df']}{ddf} df, p = {_fmt(r['p'], 3)}"
        )
    _extra_tables(out_console, out, pct)


COEFFICIENT_KEYS = ("term", "estimate", "se", "statistic", "df", "p", "ci_low", "ci_high")


def _coefficients_csv(rows: list[dict], keys: tuple[str, ...]) -> None:
    """Coefficient rows as CSV, through the one formula-neutralizing rule of every CSV writer."""
    import polars as pl

    from ..safe_output import neutralize_formulas

    frame = pl.DataFrame([{k: r.get(k) for k in keys} for r in rows], infer_schema_length=None)
    click.echo(neutralize_formulas(frame).write_csv(), nl=False)


def _sensitive_model(
    design,
    data,
    formula,
    list_experiment,
    treatment,
    list_method,
    control_items,
    randomized_response,
    rr_design,
    probs,
    level,
    fmt_,
    extras,
) -> None:
    """`model --list-experiment` / `--randomized-response`: the coefficient rows of the model contract,
    each with "part": "sensitive" or "control", design-based SEs."""
    if list_experiment and randomized_response:
        raise QuietpollError("--list-experiment and --randomized-response are two different models: give one")
    if extras:
        raise QuietpollError(
            "--subset, --test, --margins, --ame and --contrast go with GLMs, not with "
            "--list-experiment or --randomized-response"
        )
    if list_experiment:
        if not treatment:
            raise QuietpollError("--list-experiment needs --treatment TREAT_COL (the long-list indicator)")
        from ..estimators.list_reg import list_regression

        _, des = design.load(data, [*_names(formula), treatment])
        fit = list_regression(des, formula, treatment, method=list_method, control_items=control_items, level=level)
    else:
        if not rr_design:
            raise QuietpollError(
                "--randomized-response needs --rr-design forced|warner|unrelated and its probabilities"
            )
        from ..estimators.rr_reg import rr_regression

        p_truth, p_yes, p, p_unrelated = probs
        _, des = design.load(data, _names(formula))
        fit = rr_regression(
            des, formula, rr_design=rr_design, p_truth=p_truth, p_yes=p_yes, p=p, p_unrelated=p_unrelated, level=level
        )
    out = fit.to_dict()
    if fmt_ == "json":
        click.echo(json.dumps(out, allow_nan=False, default=float))
        return
    if fmt_ == "csv":
        _coefficients_csv(out["coefficients"], ("part", *COEFFICIENT_KEYS))
        return
    m = out["model"]
    t = rich_table(title=f"{m['formula']}  ({m['kind']}, n = {m['n']}, {m['variance']} variance)")
    pct = f"{100 * level:g}%"
    for c in ("part", "term", "estimate", "se", "z/t", "p", f"{pct} low", f"{pct} high"):
        t.add_column(c, justify="left" if c in ("part", "term") else "right")
    for r in out["coefficients"]:
        t.add_row(
            r["part"],
            r["term"],
            _fmt(r["estimate"]),
            _fmt(r["se"]),
            _fmt(r["statistic"], 3),
            _fmt(r["p"], 3),
            _fmt(r["ci_low"]),
            _fmt(r["ci_high"]),
        )
    console().print(t)


def _extra_tables(out_console, out: dict, pct: str) -> None:
    """Margins, average marginal effects and contrasts as tables."""
    for key, title, label in (
        ("margins", "Predictive margins", "level"),
        ("ame", "Average marginal effects", "level"),
        ("contrasts", "Contrasts", "contrast"),
    ):
        rows = out.get(key)
        if not rows:
            continue
        t = rich_table(title=title)
        cols = ["variable", label] if key != "contrasts" else [label]
        for c in (*cols, "estimate", "se", f"{pct} low", f"{pct} high"):
            t.add_column(c, justify="left" if c in ("variable", label) else "right")
        for r in rows:
            lab = r[label] if r[label] is not None else "(slope)"
            if key == "ame" and r.get("reference") is not None:
                lab = f"{lab} - {r['reference']}"
            first = [r["variable"], str(lab)] if key != "contrasts" else [str(lab)]
            t.add_row(*first, _fmt(r["estimate"]), _fmt(r["se"]), _fmt(r["ci_low"]), _fmt(r["ci_high"]))
        out_console.print(t)


@command()
@click.argument("data", required=False, type=click.Path())
@click.option("--var", required=True, help="The numeric variable Y.")
@click.option("--group", required=True, help="The two-level group column G.")
@design_options
@click.option("--subset", "subset", help="Test in a subpopulation (same language as `model --subset`).")
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal, else json).")
def ttest(data, var, group, subset, level, fmt, design):
    """Design-based t-test of the difference in means of Y between the two groups of G (R's
    svyttest(Y ~ G)): second level minus first, with the design's residual df."""
    from ..estimators.ttest import ttest as _ttest

    _, des = design.load(data, [var, group, *_names(subset)])
    res = _ttest(des, var, group, subset=subset, level=level)
    fmt = fmt or default_format()
    if fmt == "json":
        keys = (
            "estimate",
            "se",
            "statistic",
            "df",
            "p",
            "ci_low",
            "ci_high",
            "level",
            "variable",
            "group",
            "contrast_level",
            "n",
            "design",
        )
        click.echo(json.dumps({k: res[k] for k in keys}, allow_nan=False))
        return
    console().print(
        f"design-based t-test of {var} by {group} ({res['contrast_level']} minus the first level): "
        f"difference {_fmt(res['estimate'])} (se {_fmt(res['se'])}), t = {_fmt(res['statistic'], 3)}, "
        f"df = {_fmt(res['df'])}, p = {_fmt(res['p'], 3)}, {100 * level:g}% CI "
        f"{_fmt(res['ci_low'])} to {_fmt(res['ci_high'])}"
    )
