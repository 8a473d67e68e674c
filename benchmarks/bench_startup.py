"""Start-up time of the `quietpoll` CLI as whole processes: `quietpoll --version` and `quietpoll estimate`
on the California API stratified sample (tests/reference/data/apistrat.csv). Prints a Markdown table of
the median (and min, max) wall time of N runs of each. Not a test: `python benchmarks/bench_startup.py
[--runs N]`; results are recorded in docs/benchmarks.md under "CLI start-up"."""

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    ap.add_argument(
        "--before",
        metavar="SRC",
        help="also time the quietpoll in this source folder (runs "
        "interleaved with the installed one, so both see the same machine load)",
    )
    args = ap.parse_args()
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
