"""Disclosure benchmark: risk measures on 1,000,000 records and `release` of 100,000 records, on SYNTHETIC data.

    .venv/bin/python benchmarks/bench_disclosure.py [--risk-rows 1000000] [--release-rows 100000] [--no-pycanon]
                                                   [--out benchmarks/out] [--no-docs]

Steps:
  1. data: SYNTHETIC files generated here with numpy (fixed seed, regenerated each run, deterministic):
     OUT/disclosure_risk_ROWS.parquet (+ .csv for the peer): 6 quasi-identifiers (sex 2 levels, age band 7,
     province 10, settlement 3, education 5, exit cohort 7; skewed like the defector population), a sensitive
     column (watched: yes/no/refused) and a weight; OUT/disclosure_release_ROWS.csv: a raw export with a name
     and a phone column (direct identifiers), Kobo metadata (_uuid, _submission_time, _submitted_by, deviceid,
     start), numeric age and year_left (recoded to bands), the same categorical QIs and a free-text note holding
     phone numbers, e-mail addresses and listed names.
  2. quietpoll, each operation in a subprocess of its own (so its peak RSS is its own):
     - `disclosure_risk` over the 6 QIs, l-diversity of `watched`, weighted individual risk (k = 5): first call
       and best of --repeats after it (the file read is timed apart);
     - `release` in Python (read CSV, then `release()` to k = 5 with the recodes; first call, best of repeats);
     - the whole command `quietpoll release ... --out OUT/released.parquet` (read, release, write, report).
  3. pycanon (PyPI, own venv OUT/pycanon-venv, created on first use): k-anonymity and l-diversity of the same
     1,000,000-record file with pandas, timed and compared with quietpoll's values (sdcMicro is not on PyPI).
  4. prints a table, writes OUT/disclosure_results.json and docs/benchmarks_disclosure.md, and makes sure
     docs/benchmarks.md links it from its first lines.

Targets: risk measures < 5 s, release < 60 s (2 cores). These are measurements, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import run_measured  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DOCS = REPO / "docs" / "benchmarks_disclosure.md"
MAIN_DOCS = REPO / "docs" / "benchmarks.md"
SEED = 20261122
QI = ["sex", "age_band", "province", "settlement", "education", "cohort"]
QI3 = ["sex", "age_band", "province"]  # a second, coarser set for the agreement check (k > 1, l > 1)
RELEASE_QI = ["sex", "age", "province", "settlement", "education", "year_left"]
RECODES = ["age=bands:20,30,40,50,60,70", "year_left=years:5"]
K = 5
TARGET_RISK_S = 5.0
TARGET_RELEASE_S = 60.0
LEVELS = {
    "sex": (["female", "male"], [0.72, 0.28]),
    "age_band": (
        ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60+"],
        [0.04, 0.11, 0.28, 0.29, 0.18, 0.06, 0.04],
    ),
    "province": (
        [
            "north_hamgyong",
            "ryanggang",
            "south_hamgyong",
            "pyongyang",
            "south_pyongan",
            "north_pyongan",
            "chagang",
            "kangwon",
            "north_hwanghae",
            "south_hwanghae",
        ],
        [0.55, 0.2, 0.07, 0.04, 0.04, 0.03, 0.02, 0.02, 0.015, 0.015],
    ),
    "settlement": (["city", "county_town", "village"], [0.5, 0.3, 0.2]),
    "education": (["primary", "middle", "high", "college", "university"], [0.05, 0.2, 0.5, 0.15, 0.1]),
    "cohort": (
        ["before_2000", "2000-04", "2005-09", "2010-14", "2015-19", "2020+", "inside"],
        [0.1, 0.2, 0.3, 0.2, 0.1, 0.02, 0.08],
    ),
}
NAMES = ["Kim", "Park", "Chongjin", "Hyesan", "김철수", "청진"]
NOTES = [
    "call +82 10 {a} {b}",
    "my phone 010-{a}-{b}",
    "write to user{a}@example.org",
    "Kim from Chongjin",
    "김철수가 청진에서 왔다",
    "watched dramas weekly",
    "no comment",
    "",
    "ID {a}{b}{a}",
]


# ----------------------------------------------------------------------------------------------
# data


def _cat(rng, name, n):
    import numpy as np

    levels, p = LEVELS[name]
    return np.asarray(levels, dtype=object)[rng.choice(len(levels), size=n, p=np.asarray(p) / np.sum(p))]


def make_risk_data(n, out):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(SEED)
    frame = pl.DataFrame({q: _cat(rng, q, n).tolist() for q in QI})
    frame = frame.with_columns(
        pl.Series("watched", rng.choice(["yes", "no", "refused"], n, p=[0.6, 0.35, 0.05])),
        pl.Series("w", rng.uniform(5, 60, n)),
    )
    path = out / f"disclosure_risk_{n}.parquet"
    frame.write_parquet(path)
    frame.write_csv(out / f"disclosure_risk_{n}.csv")
    return path


def make_release_data(n, out):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(SEED + 1)
    a = rng.integers(1000, 9999, n).astype(str)
    b = rng.integers(1000, 9999, n).astype(str)
    notes = np.asarray(NOTES, dtype=object)[rng.integers(0, len(NOTES), n)]
    note = pl.DataFrame({"t": notes.tolist(), "a": a.tolist(), "b": b.tolist()}).select(
        pl.col("t").str.replace_all("{a}", pl.col("a"), literal=True).str.replace_all("{b}", pl.col("b"), literal=True)
    )
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    stamp = [f"2026-{m:02d}-{d:02d}T10:{m:02d}:00" for m, d in zip(month, day)]
    frame = pl.DataFrame(
        {
            "name": [f"Respondent {i}" for i in range(n)],
            "phone": [f"010-{x}-{y}" for x, y in zip(a, b)],
            "_uuid": [f"uuid-{i:08d}" for i in range(n)],
            "_submission_time": stamp,
            "_submitted_by": rng.choice(["enum01", "enum02", "enum03"], n).tolist(),
            "deviceid": [f"imei:35{i:013d}" for i in range(n)],
            "start": stamp,
            "sex": _cat(rng, "sex", n).tolist(),
            "age": rng.integers(16, 90, n),
            "province": _cat(rng, "province", n).tolist(),
            "settlement": _cat(rng, "settlement", n).tolist(),
            "education": _cat(rng, "education", n).tolist(),
            "year_left": rng.integers(1995, 2026, n),
            "watched": rng.choice(["yes", "no"], n).tolist(),
            "note": note.to_series(),
        }
    )
    path = out / f"disclosure_release_{n}.csv"
    frame.write_csv(path)
    (out / "disclosure_names.txt").write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------
# workers (each in its own subprocess)


def _best(fn, repeats):
    t = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return value, first, min(times) if times else first, times


def worker_risk(a):
    import polars as pl

    from quietpoll.disclosure.risk import disclosure_risk

    t = time.perf_counter()
    frame = pl.read_parquet(a.data)
    read = time.perf_counter() - t
    res, first, best, times = _best(
        lambda: disclosure_risk(frame, QI, sensitive=["watched"], k=K, weights="w"), a.repeats
    )
    res = res.to_dict()
    res3 = disclosure_risk(frame, QI3, sensitive=["watched"], k=K).to_dict()
    print(
        json.dumps(
            {
                "read_s": read,
                "first_s": first,
                "best_s": best,
                "times": times,
                "rows": frame.height,
                "k_anonymity": res["k_anonymity"],
                "records_below_k": res["records_below_k"],
                "classes": res["classes"],
                "uniques": res["uniques"],
                "l_diversity": res["l_diversity"],
                "expected_reidentifications": res["expected_reidentifications"],
                "k_anonymity_3": res3["k_anonymity"],
                "l_diversity_3": res3["l_diversity"]["watched"],
            }
        )
    )


def worker_release(a):
    from quietpoll.disclosure.recode import parse_recode
    from quietpoll.disclosure.release import release
    from quietpoll.disclosure.scrub import read_names
    from quietpoll.io import read_data

    t = time.perf_counter()
    frame = read_data(a.data).frame
    read = time.perf_counter() - t
    names = read_names(Path(a.data).parent / "disclosure_names.txt")
    recodes = [parse_recode(r) for r in RECODES]
    rel, first, best, times = _best(
        lambda: release(
            frame,
            qi=RELEASE_QI,
            k=K,
            identifiers=["name", "phone"],
            recodes=recodes,
            names=names,
            max_suppressed=a.max_suppressed,
        ),
        a.repeats,
    )
    s = rel.report["suppression"]
    print(
        json.dumps(
            {
                "read_s": read,
                "first_s": first,
                "best_s": best,
                "times": times,
                "rows": frame.height,
                "final_k": rel.report["final_k"],
                "k_before": rel.report["k_before"],
                "cells": s["cells"],
                "share": s["share"],
                "records_touched": s["records_touched"],
                "rounds": s["rounds"],
                "by_qi": s["by_qi"],
                "scrubbed": rel.report["scrubbed"],
                "dropped": [d["column"] for d in rel.report["dropped"]],
            }
        )
    )


PYCANON_WORKER = r"""
import json, sys, time
import pandas as pd
from pycanon import anonymity
df = pd.read_csv(sys.argv[1])
qi = sys.argv[2].split(",")
qi3 = sys.argv[3].split(",")
out = {}
t = time.perf_counter(); out["k_anonymity"] = int(anonymity.k_anonymity(df, qi)); out["k_s"] = time.perf_counter() - t
t = time.perf_counter(); out["l_diversity"] = int(anonymity.l_diversity(df, qi, ["watched"]))
out["l_s"] = time.perf_counter() - t
out["k_anonymity_3"] = int(anonymity.k_anonymity(df, qi3))
out["l_diversity_3"] = int(anonymity.l_diversity(df, qi3, ["watched"]))
import pycanon; out["version"] = getattr(pycanon, "__version__", "?"); out["pandas"] = pd.__version__
print(json.dumps(out))
"""


def ensure_venv(outdir):
    venv = outdir / "pycanon-venv"
    py = venv / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import pycanon"], capture_output=True).returncode == 0:
        return py, None
    log = outdir / "pycanon-venv-install.log"
    with open(log, "w") as fh:
        r = subprocess.run(["python3", "-m", "venv", str(venv)], stdout=fh, stderr=subprocess.STDOUT)
        if r.returncode == 0:
            r = subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", "pycanon"], stdout=fh, stderr=subprocess.STDOUT
            )
    if r.returncode != 0:
        return None, f"pip install pycanon failed (rc {r.returncode}); see {log}"
    return py, None


def _last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON result in the worker's output: " + text[-500:])


# ----------------------------------------------------------------------------------------------
# driver


def versions(pycanon):
    import numpy
    import polars

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    from importlib.metadata import version

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "polars": polars.__version__,
        "quietpoll": version("quietpoll"),
        "commit": commit,
        "platform": platform.platform(),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "memory": mem,
        "pycanon": pycanon,
    }


def fmt_s(x):
    return "—" if x is None else (f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s")


def _foreign(res):
    f = res.get("foreign") or {}
    names = {"risk": "risk measures", "release": "release()", "release_cli": "the command"}
    return "; ".join(f"{v['cores']:.2f} cores during {names.get(k, k)}" for k, v in f.items()) or "unknown"


def write_docs(res):
    v = res["versions"]
    r, rl, cli, pc = res["risk"], res["release"], res["release_cli"], res.get("pycanon") or {}
    ok = lambda t, target: "yes" if t is not None and t < target else "**no**"  # noqa: E731
    rows = [
        f"| `disclosure_risk`, {r['rows']:,} records x 6 QIs, l-diversity, weighted risk (best of {res['repeats']}) "
        f"| {fmt_s(r['best_s'])} | {fmt_s(r['first_s'])} | {res['risk_rss_mb']:.0f} MB | < {TARGET_RISK_S:.0f} s "
        f"| {ok(r['best_s'], TARGET_RISK_S)} |",
        f"| `release()` in Python, {rl['rows']:,} records to k = {K} (best of {res['repeats']}) "
        f"| {fmt_s(rl['best_s'])} "
        f"| {fmt_s(rl['first_s'])} | {res['release_rss_mb']:.0f} MB | < {TARGET_RELEASE_S:.0f} s "
        f"| {ok(rl['best_s'], TARGET_RELEASE_S)} |",
        f"| whole command `quietpoll release` (read CSV, release, write parquet, report) | {fmt_s(cli['wall_s'])} "
        f"| — | {cli['rss_mb']:.0f} MB | < {TARGET_RELEASE_S:.0f} s | {ok(cli['wall_s'], TARGET_RELEASE_S)} |",
    ]
    if pc.get("k_s") is not None:
        rows.append(
            f"| pycanon {pc.get('version')}: k-anonymity + l-diversity of the {r['rows']:,} records "
            f"| {fmt_s(pc['k_s'] + pc['l_s'])} | — | {res.get('pycanon_rss_mb', 0):.0f} MB | — | — |"
        )
    if pc.get("k_s") is not None:
        ours = (r["k_anonymity"], r["l_diversity"]["watched"], r["k_anonymity_3"], r["l_diversity_3"])
        theirs = (pc["k_anonymity"], pc["l_diversity"], pc["k_anonymity_3"], pc["l_diversity_3"])
        agree = (
            f"pycanon {pc.get('version')} (pandas {pc.get('pandas')}) gives k = {theirs[0]}, l = {theirs[1]} "
            f"over the 6 QIs and k = {theirs[2]}, l = {theirs[3]} over {', '.join(QI3)}; quietpoll gives "
            f"k = {ours[0]}, l = {ours[1]} and k = {ours[2]}, l = {ours[3]}: "
            + ("**equal**." if ours == theirs else "**they differ**.")
        )
    else:
        agree = f"pycanon was not run: {res.get('pycanon_why') or 'skipped (--no-pycanon)'}."
    doc = f"""# Benchmarks: disclosure control (`disclosure_risk`, `release`)

Generated by `benchmarks/bench_disclosure.py` on {res["date"]}; the whole run took {res["total_s"]:.0f} s.
These are measurements, not tests; timings drift between runs and machines (2 cores shared with other work).

## Machine and versions

- CPU: {v["cpu"]}; nproc {v["nproc"]}; memory {v["memory"]}; {v["platform"]}
- Python {v["python"]}, numpy {v["numpy"]}, polars {v["polars"]}, quietpoll {v["quietpoll"]} (commit {v["commit"]})
- Peer: pycanon {v.get("pycanon") or "not run"} in its own venv (`benchmarks/out/pycanon-venv`). sdcMicro (R) is
  not installed here and not on PyPI, so no R peer.

## Data (SYNTHETIC, generated by the script with numpy, seed {SEED})

- Risk: `disclosure_risk_{r["rows"]}.parquet`: {r["rows"]:,} records; QIs {", ".join(QI)} (2 x 7 x 10 x 3 x 5 x 7
  = 14,700 possible combinations, skewed: 72% women, 55% North Hamgyong); sensitive `watched`; weight `w`.
  {r["classes"]:,} equivalence classes, k-anonymity {r["k_anonymity"]}, {r["records_below_k"]:,} records below
  k = {K}, {r["uniques"]:,} uniques.
- Release: `disclosure_release_{rl["rows"]}.csv`: {rl["rows"]:,} records with a name and a phone column,
  Kobo metadata (`_uuid`, `_submission_time`, `_submitted_by`, `deviceid`, `start`), numeric `age` and
  `year_left`, the categorical QIs, `watched`, and a free-text `note` with phone numbers, e-mail addresses,
  ID-like numbers and listed names. QIs {", ".join(RELEASE_QI)}, recodes {", ".join(f"`{x}`" for x in RECODES)},
  k = {K}, names list `disclosure_names.txt`.

## Results

| operation | best | first call | peak RSS | target | met |
|---|---:|---:|---:|---:|---|
{chr(10).join(rows)}

Contention: other processes on the machine used on average {_foreign(res)} while these ran (2 cores in all).

Reading the files (not in the targets): parquet {fmt_s(r["read_s"])} ({r["rows"]:,} rows), CSV
{fmt_s(rl["read_s"])} ({rl["rows"]:,} rows). Peak RSS is the peak resident memory of that operation's process
(`wait4`), including the Python interpreter, polars and the data.

What `release` did: k = {rl["k_before"]} before, {rl["final_k"]} after (wildcard rule); {rl["cells"]:,} QI values
suppressed ({rl["share"]:.2%} of {rl["rows"] * len(RELEASE_QI):,}) in {rl["records_touched"]:,} records over
{rl["rounds"]} round(s), per QI: {", ".join(f"{q} {n:,}" for q, n in rl["by_qi"].items())}; dropped
{", ".join(rl["dropped"])}; scrubbed in `note`: {", ".join(f"{n:,} {k}" for k, n in rl["scrubbed"]["note"].items())}.

Agreement: {agree}

## How to run

```sh
.venv/bin/python benchmarks/bench_disclosure.py                       # 1,000,000 + 100,000 records
.venv/bin/python benchmarks/bench_disclosure.py --risk-rows 100000 --release-rows 20000 --max-suppressed 0.2 --no-docs
```

Options: `--repeats K` (timed calls after the first, best kept; default 3), `--no-pycanon`, `--out DIR`
(default `benchmarks/out`), `--no-docs`. Results: `OUT/disclosure_results.json`.
"""
    DOCS.write_text(doc)
    link_from_main_docs()


LINK_LINE = (
    "Disclosure control (`disclosure_risk`, `release`) is benchmarked by `benchmarks/bench_disclosure.py`: "
    "see [benchmarks_disclosure.md](benchmarks_disclosure.md)."
)


def link_from_main_docs():
    """The link as the first line after the title of docs/benchmarks.md (added again after
    bench_estimate.py rewrites that file, whenever this script writes its docs)."""
    if not MAIN_DOCS.exists():
        return
    text = MAIN_DOCS.read_text()
    if "benchmarks_disclosure.md" in text:
        return
    head, sep, rest = text.partition("\n")
    MAIN_DOCS.write_text(head + sep + "\n" + LINK_LINE + "\n" + rest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--risk-rows", type=int, default=1_000_000)
    ap.add_argument("--release-rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "out"))
    ap.add_argument("--no-pycanon", action="store_true")
    ap.add_argument(
        "--max-suppressed",
        type=float,
        default=0.05,
        help="release's --max-suppressed (default: the command's 0.05; small smoke runs need more)",
    )
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--worker", choices=["risk", "release"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        {"risk": worker_risk, "release": worker_release}[a.worker](a)
        return

    t0 = time.perf_counter()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print("generating SYNTHETIC data ...", flush=True)
    risk_path = make_risk_data(a.risk_rows, out)
    release_path = make_release_data(a.release_rows, out)
    py = sys.executable
    res = {"repeats": a.repeats, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    foreign = {}

    me = str(Path(__file__).resolve())
    for op, path in (("risk", risk_path), ("release", release_path)):
        print(f"quietpoll {op} ...", flush=True)
        rc, wall, rss, text = run_measured(
            [
                py,
                me,
                "--worker",
                op,
                "--data",
                str(path),
                "--repeats",
                str(a.repeats),
                "--max-suppressed",
                str(a.max_suppressed),
            ],
            log=out / f"disclosure_{op}.log",
            timeout=1800,
            foreign=foreign,
            phase=op,
        )
        if rc != 0:
            raise SystemExit(f"{op} worker failed (rc {rc}):\n{text[-2000:]}")
        res[op] = _last_json(text)
        res[f"{op}_rss_mb"] = rss
        res[f"{op}_wall_s"] = wall

    print("quietpoll release (whole command) ...", flush=True)
    exe = str(Path(py).parent / "quietpoll")
    cmd = [
        exe,
        "release",
        str(release_path),
        "--qi",
        ",".join(RELEASE_QI),
        "--k",
        str(K),
        "--identifiers",
        "name,phone",
        "--names",
        str(out / "disclosure_names.txt"),
        "--out",
        str(out / "released.parquet"),
        "--max-suppressed",
        str(a.max_suppressed),
        "--format",
        "json",
    ]
    cmd += [x for r in RECODES for x in ("--recode", r)]
    rc, wall, rss, text = run_measured(
        cmd, log=out / "disclosure_release_cli.log", timeout=1800, foreign=foreign, phase="release_cli"
    )
    if rc != 0:
        raise SystemExit(f"quietpoll release failed (rc {rc}):\n{text[-2000:]}")
    res["release_cli"] = {"wall_s": wall, "rss_mb": rss, "final_k": _last_json(text)["final_k"]}

    pyc_version = None
    if not a.no_pycanon:
        print("pycanon ...", flush=True)
        vpy, why = ensure_venv(out)
        if vpy is None:
            res["pycanon_why"] = why
        else:
            script = out / "pycanon_worker.py"
            script.write_text(PYCANON_WORKER)
            rc, wall, rss, text = run_measured(
                [str(vpy), str(script), str(risk_path.with_suffix(".csv")), ",".join(QI), ",".join(QI3)],
                log=out / "disclosure_pycanon.log",
                timeout=1800,
            )
            if rc == 0:
                res["pycanon"] = _last_json(text)
                res["pycanon_rss_mb"] = rss
                pyc_version = res["pycanon"].get("version")
            else:
                res["pycanon_why"] = f"pycanon run failed (rc {rc}): {text.strip()[-300:]}"
    res["foreign"] = foreign
    res["versions"] = versions(pyc_version)
    res["total_s"] = time.perf_counter() - t0
    (out / "disclosure_results.json").write_text(json.dumps(res, indent=2))

    r, rl, cli = res["risk"], res["release"], res["release_cli"]
    print(
        f"disclosure_risk {r['rows']:,} x 6: best {fmt_s(r['best_s'])}, first {fmt_s(r['first_s'])}, "
        f"peak RSS {res['risk_rss_mb']:.0f} MB (target < {TARGET_RISK_S:.0f} s)"
    )
    print(
        f"release() {rl['rows']:,} to k={K}: best {fmt_s(rl['best_s'])}, first {fmt_s(rl['first_s'])}, "
        f"peak RSS {res['release_rss_mb']:.0f} MB; suppressed {rl['share']:.2%}; final k {rl['final_k']}"
    )
    print(f"quietpoll release (command): {fmt_s(cli['wall_s'])}, peak RSS {cli['rss_mb']:.0f} MB")
    if res.get("pycanon"):
        pc = res["pycanon"]
        print(
            f"pycanon: k {pc['k_anonymity']} (quietpoll {r['k_anonymity']}), l {pc['l_diversity']} "
            f"(quietpoll {r['l_diversity']['watched']}), {fmt_s(pc['k_s'] + pc['l_s'])}"
        )
    if not a.no_docs:
        write_docs(res)
        print(f"wrote {DOCS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
