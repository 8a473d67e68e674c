"""Small-sample simulation: MRP against the direct weighted estimates on repeated demo-size samples.

The population is the demo's SYNTHETIC population (quietpoll.demo_study, seed 20261122: the same
200,000 people the demo study is drawn from). Each replicate draws a new sample of the demo's size and
skew with the demo's own generator (``_samples``: 100 defectors in the fixed province x sex counts,
72% women, 78% from the north-east, selected on openness; 50 residents selected on openness) and its
answers (``_answers``); the planted copies of the demo are not planted. The outcome is ``owns_usb``
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
    python benchmarks/bench_small_samples.py --report-only    # the doc from the results file so far

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


def draw_sample(rng, pop) -> pl.DataFrame:
    idx, cohort = ds._samples(rng, pop)
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


def fit_mrp(sample: pl.DataFrame, seed: int, warmup: int, samples: int) -> tuple[dict, dict]:
    full, inside = cells()
    res = mrp(
        sample,
        "owns_usb",
        by="exit_cohort",
        poststrat=full,
        random=["province_group", "exit_cohort"],
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


def run(reps: int, results: Path, warmup: int, samples: int) -> None:
    pop, rng = population()
    truth = truths(pop)
    done = sum(1 for _ in results.open()) if results.exists() else 0
    # every replicate's sample comes from its own seeded generator: a resumed run draws the same samples
    with results.open("a") as fh:
        for rep in range(done, reps):
            srng = np.random.default_rng([SEED, rep])
            sample = draw_sample(srng, pop)
            d = direct(sample)
            t0 = time.perf_counter()
            m, model = fit_mrp(sample, rep, warmup, samples)
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


def report(results: Path, out: Path, timing: dict | None, warmup: int, samples: int, target: int) -> str:
    recs = [json.loads(line) for line in results.open()] if results.exists() else []
    if not recs:
        raise SystemExit("no replicates measured yet")
    keys = list(recs[0]["domains"])
    lines = [
        "# Small samples: MRP against direct weighted estimates (simulation)",
        "",
        "SYNTHETIC: the demo's synthetic population (quietpoll.demo_study, seed 20261122); no real data.",
        "Made by `benchmarks/bench_small_samples.py` (its docstring has the design). Outcome: `owns_usb`.",
        f"Replicates measured: **{len(recs)}**"
        + ("" if len(recs) >= target else f" (of {target} planned: the run was stopped for time)")
        + ".",
        f"MRP: NumPyro NUTS, 2 chains x {samples} draws after {warmup} warm-up, sequential chains; "
        "random intercepts province group and exit cohort, fixed effects sex and age group; "
        f"{int(LEVEL * 100)}% equal-tailed posterior intervals. Direct: raked to the census margins "
        "(sex, province group, age group), weighted share in the domain.",
        "",
        "Coverage counts every replicate (published or not); `published` is the share of replicates whose fit "
        "passed the diagnostics (R-hat <= 1.01, ESS >= 400, no divergences, after one retry).",
        "",
        "| domain | truth | mean n | coverage 90% MRP (all) | coverage (published) | published | "
        "RMSE MRP | RMSE direct | MRP lower | bias MRP | bias direct |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
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
        n = np.mean([d["n"] for d in ds_])
        lower = rm < rd
        covs.append(None if not ok else float(cov_all))
        if n < SMALL:
            verdicts.append((k, lower))
        lines.append(
            f"| {k} | {truth:.3f} | {n:.1f} | {cov_all:.2f} (of {len(ok)}) | {cov_pub:.2f} (of {len(pub)}) | "
            f"{len(pub)}/{len(ds_)} | {rm:.3f} | {rd:.3f} (of {len(dd)}) | {'yes' if lower else 'no'} | "
            f"{bm:+.3f} | {bd:+.3f} |"
        )
    secs = [r["seconds"] for r in recs]
    lines += [
        "",
        f"Groups with fewer than {SMALL} interviews on average where MRP's RMSE is lower than the direct "
        f"estimate's: {sum(v for _, v in verdicts)} of {len(verdicts)} "
        f"({', '.join(k for k, v in verdicts if not v) or 'none'} not).",
        f"Coverage of the 90% MRP intervals is within 85-95% for "
        f"{sum(c is not None and 0.85 <= c <= 0.95 for c in covs)} of {len(covs)} domains.",
        "",
        "Reading the bias columns: the demo's generator selects residents and defectors on their latent "
        "openness (residents with probability proportional to exp(0.8 eta), defectors exp(0.3 eta); "
        "quietpoll.demo_study), and openness is not among the poststratification variables (the census has "
        "only sex, province and age). Neither estimator can remove that selection: a bias that does not "
        "shrink with more interviews shows as intervals that miss the truth. "
        "The coverage target therefore measures the sample design here, not only the estimator; the "
        "selection bounds (MUBP, estimators/mubp.py) are the tool for the size of that bias.",
        "",
        "## Time",
        "",
        f"Per replicate (one fit, its retry if any, two poststratifications), warm process: median "
        f"{np.median(secs):.1f} s, max {np.max(secs):.1f} s; replicates refitted with a higher target_accept: "
        f"{sum(len(r['attempts']) > 1 for r in recs)} of {len(recs)}.",
    ]
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
    lines += [
        "",
        "The run was resumed once: the process stopped after replicate 45 with an LLVM 'Cannot allocate "
        "memory' error (compiled code piling up over many fits; the script now clears JAX's caches every 10 "
        "replicates) and went on from replicate 46; every replicate draws from its own seeded generator, so "
        "the samples are those of an uninterrupted run.",
    ]
    lines += [
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs while measured "
        f"(load average at the end {os.getloadavg()[0]:.1f}); Python {platform.python_version()}.",
        "",
    ]
    text = "\n".join(lines)
    out.write_text(text, encoding="utf-8")
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results_small_samples.jsonl"))
    ap.add_argument("--timing", type=Path, default=Path("benchmarks/results_small_samples_timing.json"))
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks_small_samples.md"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--time-only", action="store_true", help="(re)measure one demo-size fit, then report")
    a = ap.parse_args(argv)
    if a.time_only:
        a.timing.write_text(json.dumps(time_one_fit(a.warmup, a.samples)))
    elif not a.report_only:
        if not a.timing.exists():
            a.timing.write_text(json.dumps(time_one_fit(a.warmup, a.samples)))
        run(a.reps, a.results, a.warmup, a.samples)
    timing = json.loads(a.timing.read_text()) if a.timing.exists() else None
    print(report(a.results, a.out, timing, a.warmup, a.samples, a.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
