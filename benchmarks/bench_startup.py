"""Start-up time of the `quietpoll` CLI as whole processes: `quietpoll --version` and `quietpoll estimate`
on the California API stratified sample (tests/reference/data/apistrat.csv). Prints a Markdown table of
the median (and min, max) wall time of N runs of each. Not a test: `python benchmarks/bench_startup.py
[--runs N]`; results are recorded in docs/benchmarks.md under "CLI start-up".

`--report` times `quietpoll report STUDY --out DIR` instead (docs/benchmarks.md, "Report"), on two studies
made in `--work DIR` by the current tree: the SYNTHETIC demo (`quietpoll demo`, whose first report fits
and caches its model-based rows, so every timed run is a warm one) and the REACH MSNA 2024 export of the
shared corpus (`quietpoll init --from-form ... --data ...` with its design weights, strata and clusters;
skipped without ../shared/corpus). Each round runs every version once per study, interleaved, with the
1-minute load average before each run and the CPU other processes used meanwhile ("foreign" cores);
after a first untimed run of each (file cache, and the current tree's STUDY/form-cache). The current tree
is also timed with its form cache removed before each run ("no form cache": the first command after a
change of the form). Every run is printed and written to benchmarks/out/report_timing.json."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "data" / "apistrat.csv"


def _command(src: str | None = None) -> list[str]:
    """The installed console script next to this interpreter, else `python -m quietpoll.cli`; with `src`,
    the quietpoll found in that source folder (to time another version, e.g. an earlier commit's
    `git archive`, with the same interpreter and libraries)."""
    if src:
        code = f"import sys; sys.path.insert(0, {src!r}); from quietpoll.cli import main; sys.exit(main())"
        return [sys.executable, "-c", code]
    script = Path(sys.executable).with_name("quietpoll")
    if script.exists():
        return [str(script)]
    found = shutil.which("quietpoll")
    return [found] if found else [sys.executable, "-m", "quietpoll.cli"]


CASES = {
    "quietpoll --version": ["--version"],
    "quietpoll estimate apistrat.csv (strata, weights, fpc; mean and total, json)": [
        "estimate",
        str(DATA),
        "--strata",
        "stype",
        "--weights",
        "pw",
        "--fpc",
        "fpc",
        "--mean",
        "api00",
        "--total",
        "enroll",
        "--format",
        "json",
    ],
}


def time_run(argv: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


CORPUS = ROOT.parent / "shared" / "corpus"
REACH_FORM = CORPUS / "forms" / "reach__REACH_2024_MSNA-kobo-tool_draft_v11.xlsx"
REACH_DATA = CORPUS / "exports" / "reach-msna-2024" / "dummy_raw_data.xlsx"
REACH_DESIGN = '[design]\nweights = "weight"\nstrata = "stratum"\nids = ["cluster_id"]\nnest = true\n'


def report_studies(work: Path) -> dict[str, Path]:
    """The studies `--report` times, made once in `work` by the current tree (kept for later runs)."""
    cmd = _command()
    studies = {}
    demo = work / "demo"
    if not (demo / "study" / "model-cache").is_dir():  # the demo's first report fits its MRP rows (minutes)
        subprocess.run([*cmd, "demo", "--out", str(demo)], check=True, capture_output=True)
    studies["demo (SYNTHETIC, 150 interviews, model rows from the cache)"] = demo / "study"
    if REACH_FORM.is_file() and REACH_DATA.is_file():
        reach = work / "reach"
        if not (reach / "study.toml").is_file():
            subprocess.run(
                [*cmd, "init", str(reach), "--from-form", str(REACH_FORM), "--data", str(REACH_DATA)],
                check=True,
                capture_output=True,
            )
            toml = reach / "study.toml"
            text = toml.read_text(encoding="utf-8")
            start = text.index("# [design]")
            end = text.index("[report]")
            toml.write_text(text[:start] + REACH_DESIGN + "\n" + text[end:], encoding="utf-8")
        studies["REACH MSNA 2024 export (241 households)"] = reach
    return studies


def time_reports(runs: int, before: str | None, work: Path) -> dict:
    """Interleaved whole-process `quietpoll report` runs (see the module docstring)."""
    import json
    import os
    import shutil

    from benchlib import busy_cpu_seconds

    work.mkdir(parents=True, exist_ok=True)
    versions = {"after": _command()}
    if before:
        versions = {"before": _command(before), **versions}
    variants = [(v, False) for v in versions] + [("after", True)]  # (version, remove the form cache first)
    results: dict = {"runs": runs, "studies": {}}
    for label, study in report_studies(work).items():
        out = work / "out"

        def once(cmd: list[str], no_cache: bool, study: Path = study, out: Path = out) -> dict:
            if no_cache:
                shutil.rmtree(study / "form-cache", ignore_errors=True)
            load = os.getloadavg()[0]
            busy0 = busy_cpu_seconds()
            t0 = time.perf_counter()
            p = subprocess.Popen([*cmd, "report", str(study), "--out", str(out)], stdout=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            busy1 = busy_cpu_seconds()
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"report of {study} failed ({status})")
            cpu = ru.ru_utime + ru.ru_stime
            foreign = max(0.0, busy1 - busy0 - cpu) / wall if busy0 is not None and busy1 is not None else None
            return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "load1": load, "foreign_cores": foreign}

        for v in versions.values():
            once(v, False)  # untimed: file cache; the current tree's form cache
        rows: dict[str, list[dict]] = {f"{v}{' (no form cache)' if nc else ''}": [] for v, nc in variants}
        for _ in range(runs):
            for v, nc in variants:
                rows[f"{v}{' (no form cache)' if nc else ''}"].append(once(versions[v], nc))
        once(versions["after"], False)  # leave the form cache filled
        results["studies"][label] = rows
    (ROOT / "benchmarks" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "out" / "report_timing.json").write_text(json.dumps(results, indent=1))
    return results


def print_reports(results: dict) -> None:
    print(f"`quietpoll report STUDY --out DIR`, whole processes, {results['runs']} interleaved rounds\n")
    print("| study | version | wall seconds, sorted | median | CPU s, median | load (1 min) | foreign cores, max |")
    print("|---|---|---|---:|---:|---|---:|")
    for study, rows in results["studies"].items():
        for version, runs in rows.items():
            w = sorted(r["wall_s"] for r in runs)
            loads = [r["load1"] for r in runs]
            foreign = [r["foreign_cores"] for r in runs if r["foreign_cores"] is not None]
            print(
                f"| {study} | {version} | {' / '.join(f'{x:.2f}' for x in w)} | {statistics.median(w):.2f} | "
                f"{statistics.median(r['cpu_s'] for r in runs):.2f} | {min(loads):.1f} to {max(loads):.1f} | "
                f"{max(foreign) if foreign else float('nan'):.2f} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    ap.add_argument("--report", action="store_true", help="time `quietpoll report` (see the docstring)")
    ap.add_argument(
        "--work", type=Path, default=ROOT / "benchmarks" / "out" / "report-studies", help="--report's studies"
    )
    ap.add_argument(
        "--before",
        metavar="SRC",
        help="also time the quietpoll in this source folder (runs "
        "interleaved with the installed one, so both see the same machine load)",
    )
    args = ap.parse_args()
    if args.report:
        print_reports(time_reports(args.runs, args.before, args.work))
        return
    versions = {"installed": _command()}
    if args.before:
        versions = {"before": _command(args.before), "after (installed)": _command()}
    print(f"{args.runs} runs each, interleaved; median (min-max) wall time of the whole process, ms\n")
    print("| command | " + " | ".join(versions) + " |")
    print("|---|" + "---:|" * len(versions))
    for name, extra in CASES.items():
        times: dict[str, list[float]] = {v: [] for v in versions}
        for cmd in versions.values():
            time_run(cmd + extra)  # warm the file cache once
        for _ in range(args.runs):
            for v, cmd in versions.items():
                times[v].append(time_run(cmd + extra) * 1000)
        cells = [f"{statistics.median(t):.0f} ({min(t):.0f}-{max(t):.0f})" for t in times.values()]
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    # the floor of `estimate`: the interpreter and the libraries any estimate needs, nothing of quietpoll
    floor = [sys.executable, "-c", "import numpy, polars, scipy.special"]
    t = [time_run(floor) * 1000 for _ in range(args.runs)]
    print(
        f"\nreference: `python -c 'import numpy, polars, scipy.special'` {statistics.median(t):.0f} "
        f"({min(t):.0f}-{max(t):.0f}) ms"
    )


if __name__ == "__main__":
    main()
