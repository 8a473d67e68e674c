"""Write the synthetic benchmark CSV without needing ../shared/anchors.

Same recipe (and, with the same numpy, the same random stream) as the peer generator
/work/shared/anchors/gen.py: N rows, 100 strata x 20 PSUs, weights w, outcome y, binary b,
domain dom (10 levels) and R bootstrap-style replicate weights rw1..rwR (PSU-level Poisson(1)
multipliers of w).

    .venv/bin/python benchmarks/gen_synth.py N R OUTDIR   ->  OUTDIR/synth_N_R.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl


def generate(n: int, reps: int, outdir: Path) -> Path:
    rng = np.random.default_rng(1)
    n_strata, psu_per_stratum = 100, 20
    strat = rng.integers(0, n_strata, n)
    psu = strat * psu_per_stratum + rng.integers(0, psu_per_stratum, n)
    w = rng.uniform(50, 150, n)
    y = rng.normal(10, 3, n) + (psu % 7)
    b = (rng.random(n) < 0.3).astype(float)
    dom = rng.integers(0, 10, n)
    cols = {"strat": strat, "psu": psu, "w": w, "y": y, "b": b, "dom": dom}
    for r in range(reps):
        m = rng.poisson(1.0, n_strata * psu_per_stratum).astype(float)
        cols[f"rw{r + 1}"] = w * m[psu]
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"synth_{n}_{reps}.csv"
    pl.DataFrame(cols).write_csv(path)
    return path


if __name__ == "__main__":
    print(generate(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3] if len(sys.argv) > 3 else ".")))
