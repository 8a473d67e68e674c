"""Side-by-side estimation benchmark: quietpoll vs R survey vs svy, on one CSV, in one run.

    .venv/bin/python benchmarks/bench_estimate.py [--rows 1000000] [--reps 80] [--out benchmarks/out]

Steps (see benchmarks/README.md):
  1. data: OUTDIR/synth_ROWS_REPS.csv, by the peer generator in ../shared/anchors when present, else by
     benchmarks/gen_synth.py (same recipe); an existing file is reused.
  2. quietpoll in a subprocess of its own (so its peak RSS is its own): polars read_csv, then each
     operation best of --repeats after one warm-up.
  3. R survey: `Rscript ../shared/anchors/bench.R FILE` (single-shot timings, as that script does).
  4. svy: `../shared/anchors/bench_svy.py FILE` in a cached venv OUTDIR/svy-venv (single-shot timings).
  5. whole process: `quietpoll estimate FILE ...` vs `Rscript benchmarks/whole_process.R FILE`.
  6. cProfile of every quietpoll operation that misses a target.
  7. prints a table, writes OUTDIR/results.json and rewrites its own section of docs/benchmarks.md, the
     text between `<!-- bench_estimate:begin -->` and `<!-- bench_estimate:end -->` (everything else in
     the file, and hand-written text between the `<!-- analysis -->` markers inside the section, is kept).

With `--before SRC` (an earlier version's source tree, e.g. `git archive COMMIT src | tar -x -C DIR`), the
quietpoll worker also runs with that tree first on its path, alternating with the current tree
(`--rounds` times each), so that both see the same machine load; the section then gains a before/after
table. The 1-minute load average is recorded with every worker run.

These are measurements, not tests: nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import func_name as _fname, machine_info, run_measured  # noqa: E402
from benchlib import profile_text as _profile_text, src_state as _src_state  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ANCHORS = REPO.parent / "shared" / "anchors"
DOCS = REPO / "docs" / "benchmarks.md"

TARGET_VS_R = 30.0
TARGET_VS_SVY = 2.0
# operations with targets of their own (issue 13): key -> (x faster than R, x faster than svy)
TARGETS = {"glm": (30.0, 3.0), "rep_glm": (50.0, 5.0), "rep_build": (TARGET_VS_R, 1.0)}
BEGIN, END = "<!-- bench_estimate:begin -->", "<!-- bench_estimate:end -->"

# (key, label shown in the table)
OPS = [
    ("build", "design build (strata + PSU, nest)"),
    ("mean", "mean"),
    ("build+mean", "design build + mean"),
    ("mean_by_dom", "mean over 10 domains"),
    ("prop_logit", "proportion + CI (logit)"),
    ("prop_beta", "proportion + CI (beta)"),
    ("rep_build", "replicate design (80 bootstrap)"),
    ("rep_mean", "replicate mean"),
    ("rep_mean_fresh", "replicate mean, first call on a fresh design"),
    ("rep_mean_by_dom", "replicate mean over 10 domains"),
    ("glm", "glm y ~ b + factor(dom) (Taylor)"),
    ("rep_glm", "glm y ~ b + factor(dom) (80 bootstrap replicates)"),
]

# peer output labels -> operation keys (the labels are those printed by ../shared/anchors/*)
R_MAP = [
    (r"^svydesign strata\+psu$", "build"),
    (r"^svymean\(~y\)$", "mean"),
    (r"^svymean\(~y\+b\)$", "peer:mean of y and b"),
    (r"^svyby\(~y,~dom,svymean\)$", "mean_by_dom"),
    (r"^svyciprop\(~b\)$", "prop_logit"),  # svyciprop's default method is "logit"
    (r"^svyglm\(", "glm"),
    (r"^svrepdesign ", "rep_build"),
    (r"^rep svymean\(~y\)$", "rep_mean"),
    (r"^rep svyby\(~y,~dom,svymean\)$", "rep_mean_by_dom"),
    (r"^rep svyglm\(", "rep_glm"),
]
SVY_MAP = [
    (r"^Sample strata\+psu$", "build"),
    (r"^mean\(y\)$", "mean"),
    (r"^mean\(y\) by dom$", "mean_by_dom"),
    (r"^prop\(b\)$", "prop_logit"),  # svy's default proportion interval
    (r"^glm y~b\+dom$", "glm"),
    (r"^Sample replicate ", "rep_build"),
    (r"^rep mean\(y\)$", "rep_mean"),
    (r"^rep mean\(y\) by dom$", "rep_mean_by_dom"),
    (r"^rep glm y~b\+dom$", "rep_glm"),
]


# ----------------------------------------------------------------------------------------------
# quietpoll worker (runs in a subprocess)


def _qp_ops(frame):
    """{key: (setup or None, fn)}; fn takes the setup's result (or nothing)."""
    import quietpoll as qp

    def build():
        return qp.svydesign(frame, strata="strat", ids="psu", weights="w", nest=True)

    def rep_build():
        return qp.svrepdesign(frame, repweights="rw*", weights="w", type="bootstrap")

    des = build()
    rep = rep_build()
    return {
        "build": (None, build),
        "mean": (None, lambda: qp.mean(des, "y")),
        "build+mean": (None, lambda: qp.mean(build(), "y")),
        "mean_by_dom": (None, lambda: qp.mean(des, "y", by="dom")),
        "prop_logit": (None, lambda: qp.proportion(des, "b", ci_method="logit")),
        "prop_beta": (None, lambda: qp.proportion(des, "b", ci_method="beta")),
        "rep_build": (None, rep_build),
        "rep_mean": (None, lambda: qp.mean(rep, "y")),
        "rep_mean_fresh": (rep_build, lambda r: qp.mean(r, "y")),
        "rep_mean_by_dom": (None, lambda: qp.mean(rep, "y", by="dom")),
        "glm": (None, lambda: qp.glm(des, "y ~ b + factor(dom)")),
        "rep_glm": (None, lambda: qp.glm(rep, "y ~ b + factor(dom)")),
    }


def _read_frame(path):
    import polars as pl

    t = time.perf_counter()
    frame = pl.read_csv(path)
    return frame, time.perf_counter() - t


def worker_time(path, repeats, out):
    import gc
    import resource

    frame, t_read = _read_frame(path)
    ops = _qp_ops(frame)
    res = {"read_csv_polars": t_read, "ops": {}}
    for key, _ in OPS:
        setup, fn = ops[key]
        runs = []
        for i in range(repeats + 1):  # first run is the warm-up, not kept
            arg = setup() if setup else None
            gc.collect()
            t = time.perf_counter()
            r = fn(arg) if setup else fn()
            dt = time.perf_counter() - t
            del r, arg
            if i:
                runs.append(dt)
        res["ops"][key] = {"best": min(runs), "runs": runs}
    res["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    import quietpoll

    res["qp_file"] = quietpoll.__file__
    Path(out).write_text(json.dumps(res))


def _merge_worker_runs(runs):
    """Several worker processes of one version -> one result: per operation the best of every timed
    run, all runs kept; the largest peak RSS."""
    ops = {}
    for r in runs:
        for key, v in r["ops"].items():
            ops.setdefault(key, {"runs": []})["runs"].extend(v["runs"])
    for v in ops.values():
        v["best"] = min(v["runs"])
    return {
        "ops": ops,
        "read_csv_polars": min(r["read_csv_polars"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "maxrss_mb": max(r["maxrss_mb"] for r in runs),
        "processes": len(runs),
    }


def worker_profile(path, keys, out, top=14):
    import cProfile
    import pstats

    frame, _ = _read_frame(path)
    ops = _qp_ops(frame)
    res = {}
    for key in keys:
        setup, fn = ops[key]
        (fn(setup()) if setup else fn())  # warm-up
        arg = setup() if setup else None
        prof = cProfile.Profile()
        prof.enable()
        (fn(arg) if setup else fn())
        prof.disable()
        st = pstats.Stats(prof)
        total = st.total_tt
        rows = []
        for (file, line, name), (cc, nc, tt, ct, callers) in st.stats.items():
            rows.append(
                {
                    "func": _fname(file, line, name),
                    "ncalls": nc,
                    "tottime": tt,
                    "cumtime": ct,
                    "callers": sorted(((_fname(*c), v[2]) for c, v in callers.items()), key=lambda x: -x[1])[:2],
                }
            )
        by_tot = sorted(rows, key=lambda r: -r["tottime"])[:top]
        qp_cum = sorted((r for r in rows if "quietpoll/" in r["func"]), key=lambda r: -r["cumtime"])[:top]
        res[key] = {"total": total, "top_tottime": by_tot, "top_quietpoll_cumtime": qp_cum}
    Path(out).write_text(json.dumps(res))


# ----------------------------------------------------------------------------------------------
# driver

FOREIGN: dict = {}  # phase -> CPU used by other processes while ours ran


def run_proc(cmd, *, stdout_path=None, env=None, cwd=None, timeout=None, phase=None):
    """Run cmd (benchlib.run_measured); stdout kept in stdout_path when given."""
    log = stdout_path or os.devnull
    rc, wall, rss, text = run_measured(cmd, log=log, timeout=timeout, env=env, cwd=cwd, foreign=FOREIGN, phase=phase)
    return rc, wall, rss, text if stdout_path else ""


def parse_peer(text, mapping, mem_word):
    """Lines `LABEL   1.23 s  (max mem 456 MB)` / `(maxrss 456 MB)` -> {key: {seconds, mem_mb, label}}."""
    pat = re.compile(r"^(.*?)\s+(-?[\d.]+) s\s+\(" + mem_word + r" ([\d.]+) MB\)\s*$")
    res = {}
    for line in text.splitlines():
        m = pat.match(line)
        if not m:
            continue
        label = m.group(1).strip()
        for rx, key in mapping:
            if re.search(rx, label):
                res[key] = {"seconds": float(m.group(2)), "mem_mb": float(m.group(3)), "label": label}
                break
        else:
            res["peer:" + label] = {"seconds": float(m.group(2)), "mem_mb": float(m.group(3)), "label": label}
    rd = re.search(r"^read\s+([\d.]+)\s*(secs|mins|s)?\b", text, re.M)
    if rd:
        secs = float(rd.group(1)) * (60 if rd.group(2) == "mins" else 1)
        res["read"] = {"seconds": secs, "label": "read"}
    if "build" in res and "mean" in res:
        res["build+mean"] = {
            "seconds": res["build"]["seconds"] + res["mean"]["seconds"],
            "label": "sum of build and mean",
        }
    return res


def ensure_data(rows, reps, outdir):
    path = outdir / f"synth_{rows}_{reps}.csv"
    if path.exists():
        return path, "reused existing file"
    gen = ANCHORS / "gen.py"
    if gen.exists():
        subprocess.run([sys.executable, str(gen), str(rows), str(reps)], cwd=outdir, check=True)
        return path, f"generated by {gen}"
    subprocess.run([sys.executable, str(HERE / "gen_synth.py"), str(rows), str(reps), str(outdir)], check=True)
    return path, "generated by benchmarks/gen_synth.py (../shared/anchors absent)"


def ensure_svy_venv(outdir, log):
    venv = outdir / "svy-venv"
    py = venv / "bin" / "python"
    ok = py.exists() and subprocess.run([str(py), "-c", "import svy, polars"], capture_output=True).returncode == 0
    if not ok:
        log("creating svy venv (pip install svy polars) ...")
        base = shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        r = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "svy", "polars"], capture_output=True, text=True
        )
        if r.returncode:
            log("pip install svy failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
            return None
    return py


def versions(svy_py):
    import numpy
    import polars
    import quietpoll

    v = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "polars": polars.__version__,
        "quietpoll": getattr(quietpoll, "__version__", "?"),
    }
    try:
        r = subprocess.run(
            [sys.executable, "-c", "import scipy; print(scipy.__version__)"], capture_output=True, text=True
        )
        if r.returncode == 0:
            v["scipy"] = r.stdout.strip()
    except OSError:
        pass
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"], capture_output=True, text=True
        ).stdout.strip()
        v["quietpoll_commit"] = head + (" (+ uncommitted changes in src/)" if dirty else "")
    except OSError:
        pass
    if shutil.which("Rscript"):
        r = subprocess.run(
            [
                "Rscript",
                "-e",
                'cat(paste(R.version$major, R.version$minor, sep="."), '
                'tryCatch(as.character(packageVersion("survey")), error=function(e) "absent"))',
            ],
            capture_output=True,
            text=True,
        )
        if r.returncode == 0 and r.stdout.split():
            v["R"], v["survey"] = r.stdout.split()[:2]
    if svy_py:
        r = subprocess.run(
            [
                str(svy_py),
                "-c",
                "import importlib.metadata as m, numpy, polars; "
                "print(m.version('svy'), numpy.__version__, polars.__version__)",
            ],
            capture_output=True,
            text=True,
        )
        if r.returncode == 0 and r.stdout.split():
            v["svy"], v["svy_numpy"], v["svy_polars"] = r.stdout.split()[:3]
    return v


def fmt_s(x):
    if x is None:
        return "—"
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def fmt_ratio(a, b):
    if a is None or b is None or a <= 0:
        return "—"
    return f"{b / a:.1f}x"


def fmt_mb(x):
    return "—" if x is None else (f"{x / 1024:.2f} GB" if x >= 1024 else f"{x:.0f} MB")


def fmt_less(q, other):
    if q is None or other is None or q <= 0:
        return "—"
    r = other / q
    return f"{r:.1f}x less" if r >= 1 else f"{1 / r:.1f}x more"


def build_rows(res):
    qp = res.get("quietpoll", {}).get("ops", {})
    rr = res.get("r", {}).get("ops", {})
    sv = res.get("svy", {}).get("ops", {})
    rows = []
    for key, label in OPS:
        q = qp.get(key, {}).get("best")
        # a fresh-design call is the like-for-like comparison for peers' single calls
        peer_key = "rep_mean" if key == "rep_mean_fresh" else key
        r = rr.get(peer_key, {}).get("seconds")
        s = sv.get(peer_key, {}).get("seconds")
        rows.append(
            {
                "key": key,
                "label": label,
                "quietpoll": q,
                "r": r,
                "svy": s,
                "vs_r": (r / q) if (q and r is not None) else None,
                "vs_svy": (s / q) if (q and s is not None) else None,
            }
        )
    return rows


def misses(rows, res):
    out = []
    for row in rows:
        why = []
        t_r, t_svy = TARGETS.get(row["key"], (TARGET_VS_R, TARGET_VS_SVY))
        if row["vs_r"] is not None and row["vs_r"] < t_r:
            why.append(f"{row['vs_r']:.1f}x vs R (target {t_r:.0f}x)")
        if row["vs_svy"] is not None and row["vs_svy"] < t_svy:
            why.append(f"{row['vs_svy']:.1f}x vs svy (target {t_svy:.0f}x)")
        if why:
            out.append((row["key"], row["label"], why))
    wp = res.get("whole_process", {})
    wq, wr = wp.get("quietpoll", {}).get("best"), wp.get("r", {}).get("best")
    if wq and wr and wr / wq < TARGET_VS_R:
        out.append(
            ("whole_process", "whole process (CLI vs Rscript)", [f"{wr / wq:.1f}x vs R (target {TARGET_VS_R:.0f}x)"])
        )
    qm = res.get("quietpoll", {}).get("peak_rss_mb")
    sm = res.get("svy", {}).get("peak_rss_mb")
    if qm is not None and sm is not None and qm >= sm:
        out.append(("memory", "peak memory", [f"{fmt_mb(qm)} vs svy's {fmt_mb(sm)} (target: below svy)"]))
    return out


def table_text(rows, res):
    lines = [
        "| operation | quietpoll | R survey | svy | speed-up vs R | speed-up vs svy | target (vs R, vs svy) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        t_r, t_svy = TARGETS.get(row["key"], (TARGET_VS_R, TARGET_VS_SVY))
        lines.append(
            f"| {row['label']} | {fmt_s(row['quietpoll'])} | {fmt_s(row['r'])} | {fmt_s(row['svy'])} "
            f"| {fmt_ratio(row['quietpoll'], row['r'])} | {fmt_ratio(row['quietpoll'], row['svy'])} "
            f"| {t_r:g}x, {t_svy:g}x |"
        )
    q = res.get("quietpoll", {})
    r = res.get("r", {})
    s = res.get("svy", {})
    lines.append(
        f"| read CSV (not in targets; quietpoll: polars, R: read.csv, svy: polars) "
        f"| {fmt_s(q.get('read_csv_polars'))} | {fmt_s(r.get('ops', {}).get('read', {}).get('seconds'))} "
        f"| {fmt_s(s.get('ops', {}).get('read', {}).get('seconds'))} | | | |"
    )
    qm, rm, sm = q.get("peak_rss_mb"), r.get("peak_rss_mb"), s.get("peak_rss_mb")
    lines.append(
        f"| **peak memory** (peak RSS of the benchmark process) | {fmt_mb(qm)} | {fmt_mb(rm)} | {fmt_mb(sm)} "
        f"| {fmt_less(qm, rm)} | {fmt_less(qm, sm)} | below svy |"
    )
    w = res.get("whole_process", {})
    wq, wr = w.get("quietpoll", {}), w.get("r", {})
    lines.append(
        f"| **whole process**: CLI `quietpoll estimate` vs `Rscript whole_process.R` (read CSV, design, mean) "
        f"| {fmt_s(wq.get('best'))} | {fmt_s(wr.get('best'))} | — "
        f"| {fmt_ratio(wq.get('best'), wr.get('best'))} | — | {TARGET_VS_R:g}x, — |"
    )
    lines.append(
        f"| whole process, peak memory | {fmt_mb(wq.get('peak_rss_mb'))} | {fmt_mb(wr.get('peak_rss_mb'))} "
        f"| — | {fmt_less(wq.get('peak_rss_mb'), wr.get('peak_rss_mb'))} | — | |"
    )
    return "\n".join(lines)


def peer_only_text(res):
    lines = []
    for who, name in (("r", "R survey"), ("svy", "svy")):
        for k, v in res.get(who, {}).get("ops", {}).items():
            if k.startswith("peer:"):
                lines.append(f"- {name}: {k[5:]} — {fmt_s(v['seconds'])} (`{v['label']}`)")
    return "\n".join(lines)


def write_docs(res, rows, miss):
    m, v = res["machine"], res["versions"]
    whole = DOCS.read_text() if DOCS.exists() else ""
    old = _own_section(whole)
    mk = re.search(r"<!-- analysis:begin -->.*?<!-- analysis:end -->", old, re.S)
    analysis = (
        mk.group(0)
        if mk
        else (
            "<!-- analysis:begin -->\n_(No hand-written analysis yet: the automatic "
            "list and profiles above are the measured facts.)_\n<!-- analysis:end -->"
        )
    )
    notes = "\n".join(f"- {n}" for n in res.get("notes", []))
    miss_lines = "\n".join(f"- **{label}**: " + "; ".join(why) for _, label, why in miss) or "- none"
    doc = f"""{BEGIN}
# Benchmarks: quietpoll vs R survey vs svy

Other benchmarks: weighting (raking, calibration) in [benchmarks_weighting.md](benchmarks_weighting.md),
fabrication checks in [benchmarks_quality.md](benchmarks_quality.md), disclosure control (`disclosure_risk`,
`release`) in [benchmarks_disclosure.md](benchmarks_disclosure.md), the collection server (`quietpoll serve`,
SQLite and PostgreSQL) in [benchmarks_collect.md](benchmarks_collect.md), small-sample models (MRP coverage, RMSE, fit
time) in [benchmarks_small_samples.md](benchmarks_small_samples.md), sensitive-question regressions and MUBP in
[benchmarks_sensitive.md](benchmarks_sensitive.md).

Generated by `benchmarks/bench_estimate.py` (see `benchmarks/README.md`) on {res["date"]}; the whole run took
{res["elapsed_s"]:.0f} s. These are measurements, not tests. Timings drift between runs and machines: compare
only the ratios, which are taken within one run on one CSV.

## Machine and versions

- CPU: {m.get("cpu", "?")}; nproc {m.get("nproc")}; memory {m.get("mem_gib")} GiB; {m.get("platform")}
- load average (1, 5, 15 min) at the start of the run: {_fmt_load(m.get("loadavg"))}; at each quietpoll
  worker run: {", ".join(_fmt_load(x.get("loadavg")) for x in res.get("quietpoll_runs", [])) or "not recorded"}
- `OPENBLAS_CORETYPE` = `{m.get("OPENBLAS_CORETYPE")}` (left as found in the environment)
- Python {v.get("python")}, numpy {v.get("numpy")}, polars {v.get("polars")}, scipy {v.get("scipy", "?")},
  quietpoll {v.get("quietpoll")} (commit {v.get("quietpoll_commit", "?")})
- R {v.get("R", "absent")}, survey {v.get("survey", "absent")}
- svy {v.get("svy", "absent")} (own venv: numpy {v.get("svy_numpy", "?")}, polars {v.get("svy_polars", "?")})

## Data

`{res["data"]["file"]}`: {res["data"]["rows"]:,} rows, 100 strata x 20 PSUs, weight `w`, outcome `y`, binary `b`,
domain `dom` (10 levels), {res["data"]["reps"]} bootstrap replicate weight columns `rw1..rw{res["data"]["reps"]}`
({res["data"]["size_mb"]:.0f} MB; {res["data"]["source"]}).

## Results

{table_text(rows, res)}

How each column was measured:

- **quietpoll**: in its own subprocess, CSV loaded with `polars.read_csv`, then each operation timed
  separately, best of {res["repeats"]} after one warm-up in each of {res["quietpoll"].get("processes", 1)} worker process(es) (`time.perf_counter`). `design build + mean` builds a
  fresh design each time. `replicate mean` reuses one replicate design, so anything the design caches
  (its degrees of freedom) is computed in the warm-up only; `replicate mean, first call on a fresh design`
  times the call on a newly built design (build not timed), which is what the peers' single calls do.
- **R survey** (`{ANCHORS}/bench.R`) and **svy** (`{ANCHORS}/bench_svy.py`): the peer scripts, unchanged,
  each a single timed call per operation (no warm-up, no repeats). R's `build + mean` is the sum of its
  two lines. R's proportion is `svyciprop(~b)` (logit interval); svy's is `prop(b)` (its default interval);
  neither peer script times a beta interval.
- **peak memory**: `ru_maxrss` of each benchmark process (from `wait4`), data included. The quietpoll
  process holds the frame, a Taylor and a replicate design; the peer processes also fit the GLMs of their
  scripts. R's own `gc()` maximum was {fmt_mb(res.get("r", {}).get("gc_max_mb"))}.
- **whole process**: wall time of `quietpoll estimate FILE --strata strat --ids psu --nest --weights w --mean y
  --format json` (best of {res["whole_process"].get("quietpoll", {}).get("n", "?")}) vs `Rscript
  benchmarks/whole_process.R FILE` (read.csv + svydesign + svymean, {res["whole_process"].get("r", {}).get("n", "?")} run(s)).
- **contention**: CPU seconds used by *other* processes on the machine while each phase ran (from
  /proc/stat minus the phase's own CPU): {"; ".join(f"{k} {v['cores']:.2f} cores" for k, v in res.get("foreign_cpu", {}).items()) or "not measured"}.
  On this 2-core machine anything above ~0.15 cores means the timings of that phase are inflated.
- quietpoll's src/ state (HEAD + digest of uncommitted src changes) at start / end of the run:
  `{res.get("src_state", {}).get("start")}` / `{res.get("src_state", {}).get("end")}`.

Peer-only operations (quietpoll has no equivalent yet):

{peer_only_text(res) or "- none"}

{notes}

## Where quietpoll is not yet there

Targets: at least {TARGET_VS_R:.0f}x faster than R survey, at least {TARGET_VS_SVY:.0f}x faster than svy, peak
memory below svy's; operations with targets of their own (issue 13): {_targets_text()}. Operations that
miss at least one target in this run:

{miss_lines}

{analysis}

### Profiles (cProfile, one call after a warm-up, in a separate process)

{_profile_text(res.get("profiles", {}), fmt_s, dict(OPS)) or "_no profiles (nothing missed, or profiling skipped)_"}
{before_after_text(res)}{END}"""
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(_splice(whole, doc))


def _targets_text() -> str:
    labels = dict(OPS)
    return "; ".join(f"{labels[k]} {r:g}x R and {v:g}x svy" for k, (r, v) in TARGETS.items())


def _own_section(text: str) -> str:
    """This script's section of docs/benchmarks.md (between its markers), or "" when absent."""
    i, j = text.find(BEGIN), text.find(END)
    return text[i : j + len(END)] if i >= 0 and j > i else ""


def _splice(text: str, section: str) -> str:
    """`text` with this script's section replaced by `section` (put first when the markers are absent);
    every other section of the file is kept as it was."""
    i, j = text.find(BEGIN), text.find(END)
    if i >= 0 and j > i:
        return text[:i] + section + text[j + len(END) :]
    return section + ("\n\n" + text if text.strip() else "\n")


def _fmt_load(load) -> str:
    return "?" if not load else " / ".join(f"{x:.2f}" for x in load)


def before_after_text(res) -> str:
    """Markdown of the --before comparison: best of every run of each version, the spread of the runs
    (the run's noise), and whether 'after' is slower than 'before' by more than that noise."""
    ba = res.get("before_after")
    if not ba:
        return ""
    lines = [
        f"## Before and after: `{ba['before_label']}` vs `{ba['after_label']}`\n",
        f"Both versions ran in the same benchmark run, on the same CSV and interpreter, alternating "
        f"({ba['rounds']} worker process(es) each, every operation best of {res['repeats']} after a warm-up "
        f"in each process). Load average (1 min) at each worker start, in order: "
        + ", ".join(f"{x['version']} {x['loadavg'][0]:.2f}" for x in ba["runs"] if x.get("loadavg"))
        + ". Noise is the spread (slowest / fastest - 1) of one version's timed runs of an operation; "
        "an operation counts as slower only when after / before exceeds 1 + the larger of the two noises.\n",
        "| operation | before | after | after / before | noise before | noise after | slower beyond noise |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for key, label in OPS:
        b, a = ba["before"].get(key), ba["after"].get(key)
        if not b or not a:
            lines.append(f"| {label} | {fmt_s(b and b['best'])} | {fmt_s(a and a['best'])} | — | | | |")
            continue
        nb = max(b["runs"]) / min(b["runs"]) - 1
        na = max(a["runs"]) / min(a["runs"]) - 1
        ratio = a["best"] / b["best"]
        slower = "**yes**" if ratio > 1 + max(nb, na) else "no"
        lines.append(
            f"| {label} | {fmt_s(b['best'])} | {fmt_s(a['best'])} | {ratio:.2f} | {nb:.0%} | {na:.0%} | {slower} |"
        )
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=80)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per quietpoll operation (best kept)")
    ap.add_argument("--process-repeats", type=int, default=3, help="timed runs of the quietpoll CLI")
    ap.add_argument("--r-process-repeats", type=int, default=1, help="timed runs of the whole R process")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-svy", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument(
        "--before",
        metavar="SRC",
        help="also time the quietpoll in this source folder (an earlier commit's `git archive ... src`), "
        "alternating with the current one",
    )
    ap.add_argument("--before-label", help="how the docs name the --before version (default: its path)")
    ap.add_argument("--after-label", help="how the docs name the current version (default: 'this tree')")
    ap.add_argument(
        "--rounds", type=int, default=1, help="quietpoll worker processes per version, alternating (best kept)"
    )
    ap.add_argument(
        "--redo-docs", action="store_true", help="only rewrite docs/benchmarks.md from OUT/results.json (no timing)"
    )
    ap.add_argument("--worker", choices=["time", "profile"], help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--ops", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.worker == "time":
        return worker_time(a.file, a.repeats, a.result)
    if a.worker == "profile":
        return worker_profile(a.file, a.ops.split(","), a.result)

    if a.redo_docs:
        res = json.loads((a.out / "results.json").read_text())
        rows = build_rows(res)
        write_docs(res, rows, misses(rows, res))
        print(f"wrote {DOCS}")
        return None

    t_start = time.perf_counter()
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    def log(msg, phase=None):
        print(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", flush=True)

    res = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "repeats": a.repeats, "machine": machine_info(), "notes": []}
    log("data ...")
    path, source = ensure_data(a.rows, a.reps, out)
    res["data"] = {
        "file": path.name,
        "rows": a.rows,
        "reps": a.reps,
        "source": source,
        "size_mb": path.stat().st_size / 1e6,
    }
    log(f"data: {path} ({source})")

    # 1. quietpoll in-process timings, in a subprocess of its own
    src_before = _src_state(REPO)
    log("quietpoll operations ...", "quietpoll")
    versions_run = [("after", None)]
    if a.before:
        versions_run = [("before", str(Path(a.before).resolve())), ("after", None)]
    worker_runs: dict = {name: [] for name, _ in versions_run}
    run_log = []
    for rnd in range(a.rounds):
        for name, src in versions_run:
            env = None
            if src:
                env = dict(os.environ, PYTHONPATH=src)
            rj = out / f"quietpoll_worker_{name}.json"
            load = os.getloadavg()
            rc, wall, rss, text = run_proc(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    "time",
                    "--file",
                    str(path),
                    "--repeats",
                    str(a.repeats),
                    "--result",
                    str(rj),
                ],
                stdout_path=out / f"quietpoll_worker_{name}.log",
                env=env,
                phase="quietpoll operations",
            )
            if rc:
                raise SystemExit(f"quietpoll worker ({name}) failed:\n" + text[-3000:])
            r1 = json.loads(rj.read_text())
            r1["peak_rss_mb"] = rss
            worker_runs[name].append(r1)
            run_log.append({"version": name, "round": rnd + 1, "loadavg": load, "quietpoll_file": r1.get("qp_file")})
            log(f"  {name} round {rnd + 1}: load average {_fmt_load(load)}, quietpoll from {r1.get('qp_file')}")
    res["quietpoll"] = _merge_worker_runs(worker_runs["after"])
    res["quietpoll_runs"] = [x for x in run_log if x["version"] == "after"]
    if a.before:
        res["before_after"] = {
            "before_label": a.before_label or a.before,
            "after_label": a.after_label or "this tree",
            "rounds": a.rounds,
            "runs": run_log,
            "before": _merge_worker_runs(worker_runs["before"])["ops"],
            "after": res["quietpoll"]["ops"],
        }
    for key, label in OPS:
        log(f"  {label:<48} {fmt_s(res['quietpoll']['ops'][key]['best'])}")

    # 2. R survey
    have_r = shutil.which("Rscript") and (ANCHORS / "bench.R").exists() and not a.no_r
    if have_r:
        log("R survey (anchors/bench.R) ...", "R survey")
        rc, wall, rss, text = run_proc(
            ["Rscript", str(ANCHORS / "bench.R"), str(path)], stdout_path=out / "r_bench.log", phase="R survey"
        )
        ops = parse_peer(text, R_MAP, "max mem")
        res["r"] = {
            "ops": ops,
            "peak_rss_mb": rss,
            "wall_s": wall,
            "returncode": rc,
            "gc_max_mb": max((o.get("mem_mb", 0) for o in ops.values()), default=None),
        }
        log(f"  R done in {wall:.0f} s (rc {rc}), peak RSS {fmt_mb(rss)}")
    else:
        why = (
            "--no-r"
            if a.no_r
            else ("Rscript not found" if not shutil.which("Rscript") else f"{ANCHORS / 'bench.R'} absent")
        )
        res["notes"].append(f"R survey skipped: {why}.")
        log(f"R skipped: {why}")

    # 3. svy
    svy_py = None
    if (ANCHORS / "bench_svy.py").exists() and not a.no_svy:
        svy_py = ensure_svy_venv(out, log)
    if svy_py:
        log("svy (anchors/bench_svy.py) ...", "svy")
        rc, wall, rss, text = run_proc(
            [str(svy_py), str(ANCHORS / "bench_svy.py"), str(path)], stdout_path=out / "svy_bench.log", phase="svy"
        )
        res["svy"] = {"ops": parse_peer(text, SVY_MAP, "maxrss"), "peak_rss_mb": rss, "wall_s": wall, "returncode": rc}
        log(f"  svy done in {wall:.0f} s (rc {rc}), peak RSS {fmt_mb(rss)}")
        if rc:
            res["notes"].append(f"svy's script exited with status {rc}; see {out.name}/svy_bench.log.")
    else:
        why = (
            "--no-svy"
            if a.no_svy
            else (
                f"{ANCHORS / 'bench_svy.py'} absent"
                if not (ANCHORS / "bench_svy.py").exists()
                else "svy venv unavailable"
            )
        )
        res["notes"].append(f"svy skipped: {why}.")
        log(f"svy skipped: {why}")

    # 4. whole process
    log("whole process ...", "whole process")
    cli = Path(sys.executable).with_name("quietpoll")
    cmd = [
        str(cli) if cli.exists() else "quietpoll",
        "estimate",
        str(path),
        "--strata",
        "strat",
        "--ids",
        "psu",
        "--nest",
        "--weights",
        "w",
        "--mean",
        "y",
        "--format",
        "json",
    ]
    runs = []
    for i in range(a.process_repeats):
        rc, wall, rss, text = run_proc(cmd, stdout_path=out / "quietpoll_cli.log", phase="whole process")
        if rc:
            raise SystemExit("quietpoll estimate failed:\n" + text[-3000:])
        runs.append((wall, rss))
    wp = {
        "quietpoll": {
            "best": min(r[0] for r in runs),
            "runs": [r[0] for r in runs],
            "peak_rss_mb": max(r[1] for r in runs),
            "n": len(runs),
            "cmd": " ".join(cmd),
        }
    }
    log(f"  quietpoll estimate: {fmt_s(wp['quietpoll']['best'])} (runs {[round(r[0], 2) for r in runs]})")
    if have_r:
        runs = []
        for i in range(a.r_process_repeats):
            rc, wall, rss, text = run_proc(
                ["Rscript", str(HERE / "whole_process.R"), str(path)],
                stdout_path=out / "r_whole.log",
                phase="whole process",
            )
            runs.append((wall, rss))
        wp["r"] = {
            "best": min(r[0] for r in runs),
            "runs": [r[0] for r in runs],
            "peak_rss_mb": max(r[1] for r in runs),
            "n": len(runs),
            "returncode": rc,
        }
        log(f"  Rscript whole_process.R: {fmt_s(wp['r']['best'])}")
    res["whole_process"] = wp

    rows = build_rows(res)
    miss = misses(rows, res)

    # 5. profiles of the misses
    prof_keys = [k for k, _, _ in miss if k not in ("memory", "whole_process")]
    if prof_keys and not a.no_profile:
        log(f"profiling {', '.join(prof_keys)} ...", "profiles")
        pj = out / "quietpoll_profile.json"
        rc, wall, rss, text = run_proc(
            [
                sys.executable,
                __file__,
                "--worker",
                "profile",
                "--file",
                str(path),
                "--ops",
                ",".join(prof_keys),
                "--result",
                str(pj),
            ],
            stdout_path=out / "quietpoll_profile.log",
            phase="profiles",
        )
        if rc == 0:
            res["profiles"] = json.loads(pj.read_text())
        else:
            res["notes"].append("profiling failed; see quietpoll_profile.log")

    res["foreign_cpu"] = FOREIGN
    busy = {k: v for k, v in FOREIGN.items() if v["cores"] > 0.15}
    if busy:
        res["notes"].append(
            "Other processes were using the CPU during: "
            + ", ".join(f"{k} ({v['cores']:.2f} cores on average)" for k, v in busy.items())
            + ". Those timings are inflated by the contention; rerun on a quiet machine before quoting "
            "absolute numbers."
        )
    src_after = _src_state(REPO)
    res["src_state"] = {"start": src_before, "end": src_after}
    if src_before != src_after:
        res["notes"].append(
            "src/ changed while this run was in progress (someone else's edit): the "
            "quietpoll timings, the profiles and the versions may describe different code."
        )
    res["versions"] = versions(svy_py)
    res["rows"] = rows
    res["misses"] = [{"key": k, "label": label, "why": w} for k, label, w in miss]
    res["elapsed_s"] = time.perf_counter() - t_start
    (out / "results.json").write_text(json.dumps(res, indent=2, default=str))
    print()
    print(table_text(rows, res))
    print()
    print("misses:")
    for _, label, why in miss:
        print(f"  {label}: {'; '.join(why)}")
    if not a.no_docs:
        write_docs(res, rows, miss)
        log(f"wrote {DOCS.relative_to(REPO)}")
    log(f"wrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
