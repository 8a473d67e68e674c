"""Small-sample simulation: MRP against the direct weighted estimates on repeated demo-size samples.

The population is the demo's SYNTHETIC population (quietpoll.demo_study, seed 20261122: the same
200,000 people the demo study is drawn from). Each replicate draws a new sample of the demo's size and
skew with the demo's own generator (``_samples``: 100 defectors in the fixed province x sex counts,
72% women, 78% from the north-east, selected on openness; 50 residents selected on openness) and its
answers (``_answers``); the planted copies of the demo are not planted. Scenario "cells"
(``--scenario cells``) draws the same province x sex counts at random within each cell instead: selection
only on what the census cells hold, which separates the model's calibration from the demo's selection on
openness and age band, which no estimator given these cells can undo. The outcome is ``owns_usb``
(answered without misreporting, so the truth is the behaviour's population mean).

Truth: by province group, the group's population share owning a USB drive; by exit cohort c, the
population share were everyone's openness shifted by the demo's cohort shift of c (defectors answer
about life before they left; "inside" has no shift).

Direct: the sample raked to the demo's census margins (sex, province group, age group) exactly as the
demo's study.toml weights it (rake, min_cell = 5, maxit = 100; quietpoll.weighting.apply), the
weighted share in the domain.
MRP: quietpoll.estimators.mrp with random intercepts for province group and exit cohort and fixed
effects for sex and age group, cells = the census margins crossed under independence x the 5 cohorts
(by exit cohort), then the same fit poststratified to the census cells with cohort "inside" (by province
group). 90% posterior intervals.

    python benchmarks/bench_small_samples.py --reps 100 --out docs/benchmarks_small_samples.md
    python benchmarks/bench_small_samples.py --scenario cells --reps 100   # selection on sex x province only
    python benchmarks/bench_small_samples.py --time-report    # `quietpoll report` on the demo, cold and warm
    python benchmarks/bench_small_samples.py --report-only    # the doc from the results files so far

Every replicate's numbers are appended to --results (JSON lines) as it finishes, so a stopped run
still reports exactly the replicates it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from quietpoll import demo_study as ds
from quietpoll.demo_folder import weighting_targets
from quietpoll.estimators.mrp import mrp
from quietpoll.design import DesignSpec
from quietpoll.weighting.apply import WeightingSpec, apply_weighting

SEED = 20261122
LEVEL = 0.90
GROUPS = tuple(ds.PROVINCE_GROUPS)
COHORTS = ds.COHORTS + ("inside",)
SMALL = 30


def population():
    rng = np.random.default_rng(SEED)
    pop = ds._population(rng)
    return pop, rng


def truths(pop) -> dict:
    group_of = {p: g for g, ps in ds.PROVINCE_GROUPS.items() for p in ps}
    grp = np.asarray([group_of[p] for p in ds.PROVINCES], dtype=object)[pop["province"]]
    out = {}
    usb = ds._behaviour(pop["eta"], pop["u"], pop["border"])["usb"]
    for g in GROUPS:
        out[f"province_group={g}"] = float(usb[grp == g].mean())
    for c in COHORTS:
        shift = ds.COHORT_SHIFT.get(c, 0.0)
        out[f"exit_cohort={c}"] = float(ds._behaviour(pop["eta"] + shift, pop["u"], pop["border"])["usb"].mean())
    return out


def cells() -> tuple[pl.DataFrame, pl.DataFrame]:
    adults, targets = weighting_targets()
    rows = [
        (s, g, a, adults * ps * pg * pa)
        for s, ps in targets["sex"].items()
        for g, pg in targets["province_group"].items()
        for a, pa in targets["age_group"].items()
    ]
    census = pl.DataFrame(rows, schema=["sex", "province_group", "age_group", "N"], orient="row")
    full = pl.concat([census.with_columns(pl.lit(c).alias("exit_cohort")) for c in COHORTS])
    inside = census.with_columns(pl.lit("inside").alias("exit_cohort"))
    return full, inside


def cells_only_samples(rng, pop):
    """As ``ds._samples`` (the same province x sex counts of defectors and residents, the same cohort
    shares), but drawn at random within each province x sex cell: selection only on what the cells hold
    (sex; province, which the cells hold as its group), none on openness or age band."""
    cell = pop["province"] * 2 + pop["female"]
    want = []
    for counts, women in ((ds.DEFECTOR_PROVINCES, ds.DEFECTOR_WOMEN), (ds.RESIDENT_PROVINCES, ds.RESIDENT_WOMEN)):
        w = np.zeros(2 * len(ds.PROVINCES), int)
        for p, sex, k in ds._cells(counts, women):
            w[ds.PROVINCES.index(p) * 2 + (sex == "female")] = k
        want.append(w)
    d = ds._top_k(rng, cell, np.zeros(len(cell)), want[0])
    score = np.zeros(len(cell))
    score[d] = -np.inf
    r = ds._top_k(rng, cell, score, want[1])
    d, r = rng.permutation(d), rng.permutation(r)
    cohort = np.concatenate([rng.choice(len(ds.COHORTS), size=len(d), p=ds.DEFECTOR_COHORTS), np.full(len(r), -1)])
    return np.concatenate([d, r]), cohort


SCENARIOS = {"demo": ds._samples, "cells": cells_only_samples}


def draw_sample(rng, pop, scenario: str = "demo") -> pl.DataFrame:
    idx, cohort = SCENARIOS[scenario](rng, pop)
    col, _ = ds._answers(rng, pop, idx, cohort)
    return pl.DataFrame(
        {k: col[k].tolist() for k in ("sex", "province_group", "age_group", "exit_cohort")}
        | {"owns_usb": col["owns_usb"].astype(int)}
    )


def direct(sample: pl.DataFrame) -> dict:
    """Weighted as the demo's study.toml: rake to the census shares, min_cell = 5, maxit = 100."""
    adults, targets = weighting_targets()
    spec = WeightingSpec(method="rake", targets=targets, population=adults, min_cell=5, maxit=100)
    w = np.asarray(apply_weighting(DesignSpec().build(sample), spec).weights, float)
    y = sample.get_column("owns_usb").to_numpy().astype(float)
    out = {}
    for var, levels in (("province_group", GROUPS), ("exit_cohort", COHORTS)):
        v = sample.get_column(var).to_numpy()
        for lev in levels:
            m = v == lev
            out[f"{var}={lev}"] = {
                "direct": float((w[m] * y[m]).sum() / w[m].sum()) if m.any() else None,
                "n": int(m.sum()),
            }
    return out


#: model checks (not tuning: each changes one assumption of the shipped model, to see what drives coverage)
VARIANTS = {
    "": "the shipped model",
    "sigma2.5": "random-intercept SDs half-normal(2.5) instead of half-normal(1)",
    "cohort_fixed": "exit cohort as fixed effects (no pooling across cohorts) instead of random intercepts",
}


def fit_mrp(sample: pl.DataFrame, seed: int, warmup: int, samples: int, variant: str = "") -> tuple[dict, dict]:
    full, inside = cells()
    if variant == "sigma2.5":
        from quietpoll.estimators import mrp_model

        mrp_model.SIGMA_SCALE = 2.5  # read when the model is traced: this process only
    res = mrp(
        sample,
        "owns_usb",
        by="exit_cohort",
        poststrat=full,
        random=["province_group"] if variant == "cohort_fixed" else ["province_group", "exit_cohort"],
        fixed=["exit_cohort"] if variant == "cohort_fixed" else None,
        level=LEVEL,
        seed=seed,
        num_warmup=warmup,
        num_samples=samples,
        withhold_failed=False,
    )
    rows = res.rows[1:] + res.poststratify(inside, by="province_group")[1:]
    out = {}
    for r in rows:
        ((k, v),) = r["domain"].items()
        out[f"{k}={v}"] = {
            key: r[key] for key in ("estimate", "ci_low", "ci_high", "published", "rhat", "ess", "divergences")
        }
    return out, res.model


def run(reps: int, results: Path, warmup: int, samples: int, scenario: str = "demo", variant: str = "") -> None:
    pop, rng = population()
    truth = truths(pop)
    done = sum(1 for _ in results.open()) if results.exists() else 0
    # every replicate's sample comes from its own seeded generator: a resumed run draws the same samples
    with results.open("a") as fh:
        for rep in range(done, reps):
            srng = np.random.default_rng([SEED, rep])
            sample = draw_sample(srng, pop, scenario)
            d = direct(sample)
            t0 = time.perf_counter()
            m, model = fit_mrp(sample, rep, warmup, samples, variant)
            secs = time.perf_counter() - t0
            rec = {
                "rep": rep,
                "seconds": secs,
                "attempts": model["target_accept"],
                "domains": {k: {**d[k], **m[k], "truth": truth[k]} for k in truth},
            }
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            print(f"rep {rep}: {secs:.1f} s", flush=True)
            if rep % 10 == 9:  # a long run otherwise piles up compiled code until LLVM cannot map more
                import jax

                from quietpoll.estimators import mrp_model

                mrp_model._CACHE.clear()
                jax.clear_caches()


def time_one_fit(warmup: int, samples: int) -> dict:
    """One demo-size fit, timed cold (first fit in a fresh process: JAX import and compilation) and warm."""
    pop, _ = population()
    sample = draw_sample(np.random.default_rng([SEED, 10_000]), pop)
    t0, c0 = time.perf_counter(), time.process_time()
    _, m1 = fit_mrp(sample, 1, warmup, samples)
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    _, m2 = fit_mrp(sample, 2, warmup, samples)
    warm, warm_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "cold_seconds": cold,
        "warm_seconds": warm,
        "cold_cpu_seconds": cold_cpu,
        "warm_cpu_seconds": warm_cpu,
        "attempts": [m1["target_accept"], m2["target_accept"]],
        "load_average": os.getloadavg()[0],
    }


SCENARIO_TEXT = {
    "demo": (
        "Scenario 1: the demo's skew (selection on openness and age band, as the demo study)",
        "Each sample is drawn exactly as the demo study's (`quietpoll.demo_study._samples`): the fixed "
        "province x sex counts, and within them people chosen with probability proportional to "
        "exp(0.3 eta + age preference) (defectors) or exp(0.8 eta + age preference) (residents), eta being "
        "the latent openness that drives every answer. Neither openness nor the six age bands is among the "
        "poststratification variables (the census cells hold sex, province group and two age groups).",
    ),
    "cells": (
        "Scenario 2: selection only on what the cells hold (sex and province)",
        "The same province x sex counts of defectors and residents and the same cohort shares as the demo "
        "(`cells_only_samples`), but drawn at random within each province x sex cell: the sample is "
        "skewed by sex and province (72% women, 78% of defectors from the north-east) and by nothing else. "
        "The cells hold province as its group, so a province's over-representation within its group "
        "(e.g. South Hamgyong among the interior defectors) is the one selection they cannot undo.",
    ),
}


def table(recs: list[dict]) -> tuple[list[str], list, list]:
    keys = list(recs[0]["domains"])
    lines = [
        "| domain | truth | mean n | coverage 90% MRP (all) | coverage (published) | published | "
        "RMSE MRP | RMSE direct | MRP lower | bias MRP | bias direct | mean width 90% |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts, covs = [], []
    for k in keys:
        ds_ = [r["domains"][k] for r in recs]
        truth = ds_[0]["truth"]
        ok = [d for d in ds_ if d["ci_low"] is not None]
        pub = [d for d in ds_ if d["published"]]
        cov_all = np.mean([d["ci_low"] <= truth <= d["ci_high"] for d in ok]) if ok else float("nan")
        cov_pub = np.mean([d["ci_low"] <= truth <= d["ci_high"] for d in pub]) if pub else float("nan")
        rm = np.sqrt(np.mean([(d["estimate"] - truth) ** 2 for d in ok])) if ok else float("nan")
        dd = [d["direct"] for d in ds_ if d["direct"] is not None]
        rd = np.sqrt(np.mean([(x - truth) ** 2 for x in dd])) if dd else float("nan")
        bm = np.mean([d["estimate"] - truth for d in ok]) if ok else float("nan")
        bd = np.mean([x - truth for x in dd]) if dd else float("nan")
        width = np.mean([d["ci_high"] - d["ci_low"] for d in ok]) if ok else float("nan")
        n = np.mean([d["n"] for d in ds_])
        lower = rm < rd
        covs.append(None if not ok else float(cov_all))
        if n < SMALL:
            verdicts.append((k, lower))
        lines.append(
            f"| {k} | {truth:.3f} | {n:.1f} | {cov_all:.2f} (of {len(ok)}) | {cov_pub:.2f} (of {len(pub)}) | "
            f"{len(pub)}/{len(ds_)} | {rm:.3f} | {rd:.3f} (of {len(dd)}) | {'yes' if lower else 'no'} | "
            f"{bm:+.3f} | {bd:+.3f} | {width:.3f} |"
        )
    return lines, verdicts, covs


def section(scenario: str, recs: list[dict], target: int) -> list[str]:
    title, text = SCENARIO_TEXT[scenario]
    rows, verdicts, covs = table(recs)
    met = sum(c is not None and 0.85 <= c <= 0.95 for c in covs)
    secs = [r["seconds"] for r in recs]
    return [
        f"## {title}",
        "",
        text,
        "",
        f"Replicates measured: **{len(recs)}**"
        + ("" if len(recs) >= target else f" (of {target} planned: the run was stopped for time)")
        + ".",
        "",
        *rows,
        "",
        f"Groups with fewer than {SMALL} interviews on average where MRP's RMSE is lower than the direct "
        f"estimate's: {sum(v for _, v in verdicts)} of {len(verdicts)} "
        f"({', '.join(k for k, v in verdicts if not v) or 'none'} not).",
        f"Coverage of the 90% MRP intervals is within 85-95% for **{met} of {len(covs)}** domains "
        f"(range {min(c for c in covs if c is not None):.2f}-{max(c for c in covs if c is not None):.2f}).",
        f"Per replicate (one fit, its retry if any, two poststratifications), warm process: median "
        f"{np.median(secs):.1f} s, max {np.max(secs):.1f} s; refitted with a higher target_accept: "
        f"{sum(len(r['attempts']) > 1 for r in recs)} of {len(recs)}.",
        "",
    ]


def checks(results: Path, shipped: list[dict] | None) -> list[str]:
    """Scenario 2 refitted with one assumption of the model changed (VARIANTS), on its first replicates:
    coverage and bias per domain beside the shipped model's on the same samples."""
    runs = {}
    for v in VARIANTS:
        path = results_path(results, "cells", v)
        if v and path.exists():
            runs[v] = [json.loads(line) for line in path.open()]
    if not runs or not shipped:
        return []
    n = min(len(r) for r in runs.values())
    cols = {"shipped": shipped[:n], **{v: r[:n] for v, r in runs.items()}}
    lines = [
        "## Model checks (scenario 2, the same samples)",
        "",
        f"The first {n} samples of scenario 2, refitted with one assumption changed at a time: "
        + "; ".join(f"`{v}`: {VARIANTS[v]}" for v in runs)
        + ". These test the model's structure and priors; none is adopted because of these numbers.",
        "",
        "| domain | truth | " + " | ".join(f"coverage {c} | bias {c} | width {c}" for c in cols) + " |",
        "|---|---|" + "---|---|---|" * len(cols),
    ]
    for k in shipped[0]["domains"]:
        truth = shipped[0]["domains"][k]["truth"]
        cells_ = []
        for recs in cols.values():
            ds_ = [r["domains"][k] for r in recs if r["domains"][k]["ci_low"] is not None]
            cov = np.mean([d["ci_low"] <= truth <= d["ci_high"] for d in ds_])
            bias = np.mean([d["estimate"] - truth for d in ds_])
            width = np.mean([d["ci_high"] - d["ci_low"] for d in ds_])
            cells_.append(f"{cov:.2f} | {bias:+.3f} | {width:.3f}")
        lines.append(f"| {k} | {truth:.3f} | " + " | ".join(cells_) + " |")
    return lines + [""]


def results_path(base: Path, scenario: str, variant: str = "") -> Path:
    tag = "".join(f"_{t}" for t in (scenario if scenario != "demo" else "", variant) if t)
    return base.with_name(f"{base.stem}{tag}{base.suffix}")


def time_report(runs: int = 2) -> dict:
    """`quietpoll report` on a fresh demo study (seed 20261122), whole processes: the first run fits every
    model-based indicator (empty STUDY/model-cache), the later ones read the cache; and the same study
    with [report] model_based = false, for the report's own time."""
    import shutil
    import subprocess
    import tempfile

    cmd = [sys.executable, "-m", "quietpoll.cli", "report"]
    out: dict = {"cold": [], "warm": [], "off": [], "load_average": []}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        study = ds.make_study(base / "study", seed=SEED)
        off = base / "off"
        shutil.copytree(study, off)
        toml = (off / "study.toml").read_text(encoding="utf-8")
        (off / "study.toml").write_text(toml.replace("model_based = true", "model_based = false"), encoding="utf-8")

        def once(folder: Path) -> float:
            t0 = time.perf_counter()
            subprocess.run([*cmd, str(folder), "--out", str(base / "out")], check=True, capture_output=True)
            return time.perf_counter() - t0

        for k in range(runs):
            if k:
                shutil.rmtree(study / "model-cache")  # cold again
            out["cold"].append(once(study))
            out["warm"].append(once(study))
            out["off"].append(once(off))
            out["load_average"].append(os.getloadavg()[0])
    return out


def report(results: Path, out: Path, timing: dict | None, warmup: int, samples: int, target: int) -> str:
    found = {}
    for sc in SCENARIOS:
        path = results_path(results, sc)
        if path.exists():
            found[sc] = [json.loads(line) for line in path.open()]
    if not any(found.values()):
        raise SystemExit("no replicates measured yet")
    lines = [
        "# Small samples: MRP against direct weighted estimates (simulation)",
        "",
        "SYNTHETIC: the demo's synthetic population (quietpoll.demo_study, seed 20261122); no real data.",
        "Made by `benchmarks/bench_small_samples.py` (its docstring has the design). Outcome: `owns_usb`.",
        f"MRP: NumPyro NUTS, 2 chains x {samples} draws after {warmup} warm-up, sequential chains; "
        "random intercepts province group and exit cohort, fixed effects sex and age group; "
        f"{int(LEVEL * 100)}% equal-tailed posterior intervals. Direct: raked to the census margins "
        "(sex, province group, age group), weighted share in the domain. The model, its priors and the "
        "cells are the same in both scenarios; only how the sample is drawn differs.",
        "",
        "Coverage counts every replicate (published or not); `published` is the share of replicates whose fit "
        "passed the diagnostics (R-hat <= 1.01, ESS >= 400, no divergences, after one retry).",
        "",
    ]
    for sc, recs in found.items():
        if recs:
            lines += section(sc, recs, target)
    lines += checks(results, found.get("cells"))
    lines += ["## Which scenario meets the coverage target", ""]
    for sc, recs in found.items():
        if recs:
            covs = [c for c in table(recs)[2] if c is not None]
            met = sum(0.85 <= c <= 0.95 for c in covs)
            lines.append(
                f"- {SCENARIO_TEXT[sc][0].split(':')[0]} ({len(recs)} replicates): {met} of {len(covs)} domains "
                f"within 85-95% (coverage {min(covs):.2f}-{max(covs):.2f})."
            )
    lines += ["", *VERDICT.strip().splitlines()]
    lines += ["", "## Time", ""]
    if timing:
        lines += [
            f"One demo-size MRP fit (with its retry when the first fit failed the diagnostics): "
            f"{timing['cold_seconds']:.1f} s cold (fresh process: JAX import and compilation), "
            f"{timing['warm_seconds']:.1f} s warm, wall clock (target <= 30 s on 2 cores)."
        ]
        if "cold_cpu_seconds" in timing:
            lines += [
                f"CPU time of the same fits: {timing['cold_cpu_seconds']:.1f} s cold, "
                f"{timing['warm_cpu_seconds']:.1f} s warm; refits: {timing['attempts']}; load average "
                f"while timed {timing['load_average']:.1f} on {os.cpu_count()} cores."
            ]
    rt = results.with_name("results_small_samples_report.json")
    if rt.exists():
        r = json.loads(rt.read_text())
        lines += [
            "",
            "## The report with model-based rows",
            "",
            "`[report] model_based = true` (on in the demo and the foreign-media template; off by default) makes "
            "`quietpoll report` fit one MRP model per indicator that has a by-group row to replace "
            "(report/model_rows.py). The posterior summaries are cached in `STUDY/model-cache/` (folder 0700, "
            "files 0600, aggregates only), keyed by the SHA-256 of the exact inputs (the model's data columns, "
            "outcome, cells, seed, sampler settings, library versions), so only the first report after a change "
            "of the data pays for the fits. `quietpoll report` on the demo study (9 fits: 8 direct questions, one "
            "list experiment; randomized response stays direct), whole processes, "
            f"{len(r['cold'])} rounds:",
            "",
            "| run | seconds (each round) |",
            "|---|---|",
            f"| cold: empty cache, every fit (JAX import and compilation included) | "
            f"{', '.join(f'{x:.1f}' for x in r['cold'])} |",
            f"| warm: the same study again, summaries from the cache | {', '.join(f'{x:.2f}' for x in r['warm'])} |",
            f"| model_based = false (the report without model rows) | {', '.join(f'{x:.2f}' for x in r['off'])} |",
            "",
            f"Load average (1 min) after each round: {', '.join(f'{x:.1f}' for x in r['load_average'])} on "
            f"{os.cpu_count()} cores shared with other work. Warm minus off (reading the cache, the cells and "
            f"the hash of the inputs), median: {np.median(np.subtract(r['warm'], r['off'])):.2f} s.",
        ]
    lines += [
        "",
        "Scenario 1's run was resumed once: the process stopped after replicate 45 with an LLVM 'Cannot "
        "allocate memory' error (compiled code piling up over many fits; the script now clears JAX's caches "
        "every 10 replicates) and went on from replicate 46; every replicate draws from its own seeded "
        "generator, so the samples are those of an uninterrupted run.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs while measured "
        f"(load average at the end {os.getloadavg()[0]:.1f}); Python {platform.python_version()}.",
        "",
    ]
    text = "\n".join(lines)
    text = text.replace("<!-- report-timing -->", "")
    out.write_text(text, encoding="utf-8")
    return text


VERDICT = """
With 100 replicates a coverage has a Monte Carlo standard error of about 0.03 near 0.9 (0.05 with the
40 of the model checks), so 0.86-0.87 against the 0.85 bound is within that noise.

**Scenario 2 (selection only on sex and province) meets the target in 8 of 9 domains: the model is
calibrated where the selection is on what the cells hold.** The one exception is the smallest outlying
group, exit cohort before 2012 (about 10 interviews, and a true cohort shift of -1.0 on the logit scale
against -0.3 to +0.1 for the others): partial pooling draws its estimate towards the other cohorts
(bias +0.15), and its interval does not widen enough to cover that. The model checks locate the cause: a
wider prior on the random-intercept standard deviations (half-normal(2.5)) barely moves it (0.47 to 0.57
on the same 40 samples), while exit cohort as fixed effects, with no pooling, brings it to 0.82, with a bias of +0.086
instead of +0.151 and 35% wider intervals. That is the price of pooling for a small group unlike the
rest, paid here for an RMSE lower than the direct estimate's (0.174 against 0.252). The poststratification
uses the right cells (the census margins, crossed with the cohort whose population share is estimated),
the priors are not what limits coverage, and no fixed effect the cells hold is missing. Nothing in the
shipped model was changed because of these numbers.

**Scenario 1 (the demo's skew) meets the target in no domain.** The demo selects its interviews on
latent openness and on age band within the 15-64 group, neither of which the census cells hold; MRP and
the direct weighted estimate are both biased upwards in every group (bias columns) by the same selection,
and no estimator given these cells can remove it. The report shows MUBP's range on its headline shares
for the size of that kind of bias.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results_small_samples.jsonl"))
    ap.add_argument("--timing", type=Path, default=Path("benchmarks/results_small_samples_timing.json"))
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks_small_samples.md"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument(
        "--scenario",
        choices=tuple(SCENARIOS),
        default="demo",
        help="how samples are drawn: demo (the demo's selection on openness) or cells (only sex x province); "
        "its results go to --results (demo) or --results with _SCENARIO before the suffix",
    )
    ap.add_argument("--variant", choices=tuple(VARIANTS), default="", help="a model check (VARIANTS)")
    ap.add_argument("--time-only", action="store_true", help="(re)measure one demo-size fit, then report")
    ap.add_argument("--time-report", action="store_true", help="(re)measure `quietpoll report` cold and warm")
    a = ap.parse_args(argv)
    if a.time_report:
        a.results.with_name("results_small_samples_report.json").write_text(json.dumps(time_report()))
    elif a.time_only:
        a.timing.write_text(json.dumps(time_one_fit(a.warmup, a.samples)))
    elif not a.report_only:
        if not a.timing.exists():
            a.timing.write_text(json.dumps(time_one_fit(a.warmup, a.samples)))
        run(a.reps, results_path(a.results, a.scenario, a.variant), a.warmup, a.samples, a.scenario, a.variant)
    timing = json.loads(a.timing.read_text()) if a.timing.exists() else None
    print(report(a.results, a.out, timing, a.warmup, a.samples, a.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
