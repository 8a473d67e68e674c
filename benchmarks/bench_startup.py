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


def _command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m quietpoll.cli`."""
    script = Path(sys.executable).with_name("quietpoll")
    if script.exists():
        return [str(script)]
    found = shutil.which("quietpoll")
    return [found] if found else [sys.executable, "-m", "quietpoll.cli"]


CASES = {
    "quietpoll --version": ["--version"],
    "quietpoll estimate apistrat.csv (strata, weights, fpc; mean and total, json)": [
        "estimate", str(DATA), "--strata", "stype", "--weights", "pw", "--fpc", "fpc",
        "--mean", "api00", "--total", "enroll", "--format", "json"],
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
    args = ap.parse_args()
    cmd = _command()
    print(f"{args.runs} runs each; command: {' '.join(Path(c).name for c in cmd)}\n")
    print("| command | median (ms) | min (ms) | max (ms) |")
    print("|---|---:|---:|---:|")
    for name, extra in CASES.items():
        time_run(cmd + extra)  # warm the file cache once
        times = [time_run(cmd + extra) * 1000 for _ in range(args.runs)]
        print(f"| `{name}` | {statistics.median(times):.0f} | {min(times):.0f} | {max(times):.0f} |")


if __name__ == "__main__":
    main()
