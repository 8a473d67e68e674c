"""`quietpoll demo`: the whole pipeline on a SYNTHETIC study with a known truth.

:func:`run_demo` writes the synthetic study (:mod:`quietpoll.demo_study`) to OUT/study, builds the
report from it (``quietpoll.report.build_report``: validate -> quality -> weight -> estimate -> table
disclosure rules -> OUT/report.html, OUT/report.json) and :func:`summarize` sets the report's weighted
estimates beside the truth (``truth.json``) and the naive estimates, with the re-identification risk of
the microdata (what the CLI prints, also OUT/demo-summary.json).

Both take the study to its prepared state with the one study pipeline
(:func:`quietpoll.pipeline.prepare_study`: validate -> quality -> exclusions -> weight).
:func:`run_pipeline` then estimates independently of the report module (estimate -> disclosure risk)
and returns the same summary; the tests use it to check the honest result and that the report agrees
with it.

For every ``[[report.indicators]]`` the summary gives the naive estimate (unweighted, with the
simple-random-sampling SE), the weighted design-based estimate with its 95% interval and, when the
folder has ``truth.json``, the true value and:

* ``covered``: the weighted 95% interval contains the true value;
* ``naive_miss``: the naive estimate is more than 2 naive SEs from the true value.

Interviews flagged as near-duplicates (at the ``[quality]`` threshold, else the simulated one) are
dropped (every row of a flagged pair: which one is the original cannot be known) before both estimates
when ``[quality] drop_flagged`` is true.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .design import DesignSpec
from .errors import ReportError, StudyError

__all__ = ["run_pipeline", "summarize", "run_demo", "run_public_demo", "DemoResult", "DEFAULT_OUT"]

DEFAULT_OUT = "quietpoll-demo"
NAIVE_MISS_SE = 2.0


@dataclass
class DemoResult:
    """What `quietpoll demo` made: the study folder, the report files and the pipeline summary."""

    out_dir: Path
    study_dir: Path
    summary: dict
    html_path: Path | None = None
    json_path: Path | None = None


def _indicator_rows(frame: pl.DataFrame, design, ind: dict) -> dict:
    """The estimate row (estimate, se, ci_low, ci_high, n) of one indicator under `design`."""
    from . import api

    if "list_experiment" in ind:
        le = ind["list_experiment"]
        t = api.estimate(frame, design, list_experiment=(le["count"], le["treatment"]))
    elif "randomized_response" in ind:
        rr = dict(ind["randomized_response"])
        t = api.estimate(
            frame,
            design,
            randomized_response={
                "answer": rr["answer"],
                "rr_design": rr.get("design", "forced"),
                "p_truth": rr.get("p_truth"),
                "p_yes": rr.get("p_yes"),
                "p": rr.get("p"),
                "p_unrelated": rr.get("p_unrelated"),
            },
        )
    elif ind.get("level") is not None:
        t = api.estimate(frame, design, prop=[ind["variable"]], ci_method="logit")
        rows = [r for r in t.rows if str(r.level) == str(ind["level"])]
        if not rows:
            raise ReportError(f"indicator '{ind['id']}': level '{ind['level']}' never occurs in '{ind['variable']}'")
        r = rows[0]
        return {"estimate": r.estimate, "se": r.se, "ci_low": r.ci_low, "ci_high": r.ci_high, "n": r.n}
    else:
        t = api.estimate(frame, design, mean_=[ind["variable"]])
    r = t.rows[0]
    return {"estimate": r.estimate, "se": r.se, "ci_low": r.ci_low, "ci_high": r.ci_high, "n": r.n}


def _naive(frame: pl.DataFrame, ind: dict) -> dict:
    """Unweighted estimate with the simple-random-sampling SE (what a naive analysis reports)."""
    spec = DesignSpec()
    row = _indicator_rows(frame, spec, ind)
    return {"naive": row["estimate"], "naive_se": row["se"]}


def run_pipeline(study_dir: str | Path, progress: Callable[[str], None] | None = None) -> dict:
    """The prepared study (quietpoll.pipeline: validate -> quality -> weight) -> estimate -> disclosure risk
    on a study folder, independently of the report module (see module doc)."""
    from .disclosure.risk import disclosure_risk, propose_qi
    from .pipeline import prepare_study
    from .weighting.diagnostics import diagnostics

    step = progress or (lambda s: None)
    study_dir = Path(study_dir)
    prepared = prepare_study(study_dir, progress=step)
    cfg, frame, weighted = prepared.config, prepared.frame, prepared.weighted
    diag = diagnostics(frame, prepared.design.weights, weighted.weights)
    step("estimating the indicators")
    truth = _truth(study_dir)
    rows = []
    for ind in _indicators(cfg):
        row = {
            "id": ind["id"],
            "label": ind.get("label", ind["id"]),
            **_indicator_rows(frame, weighted, ind),
            **_naive(frame, ind),
        }
        _judge(row, truth.get(ind["id"]))
        rows.append(row)
    step("measuring re-identification risk")
    qi = [c for c in propose_qi(prepared.instrument) if c in frame.columns]
    risk = disclosure_risk(frame, qi, weights=np.asarray(weighted.weights, float)) if qi else None
    validation, quality = prepared.validation, prepared.quality
    if validation is None or quality is None:  # the demo study has a questionnaire: both are run
        raise AssertionError("the demo study was prepared without validation or quality checks")
    return {
        "synthetic": cfg.study.synthetic,
        "n_interviews": prepared.n_read,
        "n_analysed": frame.height,
        "validation_problems": len(validation.problems),
        "problems": validation.to_dict()["problems"],
        "flagged_rows": list(prepared.flagged),
        "excluded_rows": list(prepared.excluded_rows),
        "near_duplicates": quality.to_dict()["near_duplicates"],
        "weighting": {"kish_deff": diag.kish_deff, "effective_n": diag.effective_n},
        "indicators": rows,
        "disclosure": None if risk is None else risk.summary(),
    }


def _indicators(cfg) -> list[dict]:
    """The study's [[report.indicators]] as the plain tables the estimate calls take."""
    out = []
    for ind in cfg.report.indicators:
        d = {"id": ind.id, "label": ind.label, "variable": ind.variable, "level": ind.level}
        if ind.list_experiment:
            d["list_experiment"] = dict(ind.list_experiment)
        if ind.randomized_response:
            d["randomized_response"] = dict(ind.randomized_response)
        out.append(d)
    return out


def _truth(study_dir: Path) -> dict:
    truth_path = study_dir / "truth.json"
    return json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.exists() else {}


def summarize(study_dir: str | Path, report: dict, prepared=None) -> dict:
    """The demo's one-screen summary from the report's numbers (report.json): its weighted overall estimate
    of every indicator beside the truth and the naive estimate, computed here on the same interviews
    (`prepared`: the study as the report prepared it, ReportResult.prepared; prepared again by the
    one pipeline when not given)."""
    from .disclosure.risk import disclosure_risk, propose_qi
    from .pipeline import prepare_study

    study_dir = Path(study_dir)
    if prepared is None:
        prepared = prepare_study(study_dir)
    frame = prepared.frame
    truth = _truth(study_dir)
    overall = {r["id"]: r for r in report.get("indicators", []) if not r.get("domain")}
    rows = []
    for ind in _indicators(prepared.config):
        r = overall.get(ind["id"])
        if r is None:
            continue
        row = {
            "id": ind["id"],
            "label": r.get("label", ind["id"]),
            **{k: r.get(k) for k in ("estimate", "se", "ci_low", "ci_high", "n", "suppressed")},
            **_naive(frame, ind),
        }
        _judge(row, truth.get(ind["id"]))
        rows.append(row)
    qi = [c for c in propose_qi(prepared.instrument) if c in frame.columns]
    risk = disclosure_risk(frame, qi) if qi else None
    w = report.get("weighting", {})
    return {
        "synthetic": bool(report.get("synthetic")),
        "n_interviews": prepared.n_read,
        "n_analysed": frame.height,
        "validation_problems": report.get("quality", {}).get("validation", {}).get("n_problems"),
        "flagged_rows": list(prepared.flagged),
        "excluded_rows": list(prepared.excluded_rows),
        "weighting": {
            "kish_deff": w.get("kish_deff"),
            "effective_n": w.get("effective_n"),
            "collapsed": w.get("collapsed", []),
        },
        "indicators": rows,
        "disclosure": None if risk is None else risk.summary(expected=False),
    }


def _judge(row: dict, truth) -> None:
    """Adds truth, covered (the weighted interval holds it) and naive_miss (more than 2 naive SEs off)."""
    if truth is None or row.get("ci_low") is None:
        return
    row["truth"] = float(truth)
    row["covered"] = bool(row["ci_low"] <= row["truth"] <= row["ci_high"])
    row["naive_miss"] = bool(abs(row["naive"] - row["truth"]) > NAIVE_MISS_SE * row["naive_se"])


def run_demo(out_dir: str | Path, *, seed: int = 20261122, progress: Callable[[str], None] | None = None) -> DemoResult:
    """make_study(out/study) -> the report (validate -> quality -> weight -> estimate -> disclosure rules ->
    out/report.html, out/report.json) -> the summary against the truth (also out/demo-summary.json)."""
    from .demo_study import make_study
    from .report import build_report

    step = progress or (lambda s: None)
    out = Path(out_dir)
    study = out / "study"
    if study.exists() and any(study.iterdir()) and not (study / "README-SYNTHETIC.md").exists():
        raise StudyError(f"'{study}' exists and is not a demo study; give {{out}} a new or demo folder", param="out")
    step("generating the SYNTHETIC study")
    make_study(study, seed=seed)
    rep = build_report(study, out, progress=lambda name, k, n: step(f"{name} ({k + 1}/{n})"))
    step("comparing with the truth")
    summary = summarize(study, rep.data, rep.prepared)
    (out / "demo-summary.json").write_text(
        json.dumps(summary, indent=2, default=float, allow_nan=False) + "\n", encoding="utf-8"
    )
    return DemoResult(
        out_dir=out, study_dir=study, summary=summary, html_path=Path(rep.html_path), json_path=Path(rep.json_path)
    )


def bundled(name: str) -> pl.DataFrame:
    """One of the bundled public datasets (apistrat, apiclus1)."""
    from importlib import resources

    with resources.as_file(resources.files("quietpoll") / "data" / f"{name}.parquet") as p:
        return pl.read_parquet(p)


def run_public_demo() -> list[tuple[str, object]]:
    """`quietpoll demo --public-data`: estimates on R survey's California API data, as (title, Table)
    pairs for the front end to print."""
    from .api import estimate

    strat = bundled("apistrat")
    spec = DesignSpec(strata="stype", weights="pw", fpc=("fpc",))
    out: list[tuple[str, object]] = []
    t = estimate(
        strat,
        spec,
        mean_=["api00", "api99"],
        prop=["sch.wide"],
        ratio_=[("api00", "api99")],
        quantile_={"api00": [0.25, 0.5, 0.75]},
        ci_method="beta",
    )
    out.append(("Whole population (proportion intervals: Korn-Graubard beta)", t))
    t = estimate(strat, spec, mean_=["api00"], prop=["awards"], by=["stype"], ci_method="logit")
    out.append(("By school type (domains keep the full design)", t))
    clus = bundled("apiclus1")
    t = estimate(
        clus,
        DesignSpec(ids=("dnum",), weights="pw", fpc=("fpc",)),
        mean_=["api00"],
        total_=["enroll"],
        prop=["sch.wide"],
        ci_method="wilson",
    )
    out.append(("One-stage cluster sample of 15 districts (Wilson intervals, effective n)", t))
    # post-stratified to the known number of schools of each type (public counts from the API population file)
    weighted = (
        DesignSpec(ids=("dnum",), weights="pw", fpc=("fpc",))
        .build(clus)
        .poststratify({"stype": {"E": 4421, "H": 755, "M": 1018}})
    )
    t = estimate(clus, weighted, mean_=["api00"], total_=["enroll"], prop=["sch.wide"], ci_method="wilson")
    out.append(("The same sample post-stratified to the population's school types", t))
    return out
