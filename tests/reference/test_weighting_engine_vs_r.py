"""quietpoll.weighting's engine against R's survey package: every case in golden/weighting.json
(written by make_golden_weighting.R with survey 4.1.1): final weights, and for replicate designs the
first three recalibrated replicate columns, agree to rtol 1e-9; so do the point estimates.
(The SEs in the golden file are for the design-level weighting tests.)"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quietpoll.errors import WeightingError
from quietpoll.weighting.calibrate import calibrate_replicates, grake, model_matrix
from quietpoll.weighting.poststratify import poststratify_weights
from quietpoll.weighting.rake import rake_weights
from quietpoll.weighting.targets import margin_codes, parse_targets
from quietpoll.weighting.trim import trim_weights

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "golden" / "weighting.json").read_text())
CASES = GOLDEN["cases"]
RTOL = 1e-9


@lru_cache(maxsize=None)
def frame(name: str) -> pl.DataFrame:
    if name in GOLDEN["datasets"]:
        return pl.DataFrame(GOLDEN["datasets"][name])
    return pl.read_csv(HERE / "data" / f"{name}.csv", null_values=["", "NA"], infer_schema_length=None)


def inputs(case):
    f = frame(case["data"])
    wcol = case["design"]["weights"]
    w = f.get_column(wcol).cast(pl.Float64).to_numpy() if wcol else np.ones(f.height)
    W = None
    if case["design"]["kind"] == "replicate":
        cols = [c for c in f.columns if c.startswith("rw") and c[2:].isdigit()]
        W = f.select(cols).to_numpy().astype(float)
    return f, w, W


def run(case):
    """(weights, replicate weights or None) from the engine, as R's weighting of that design."""
    f, w, W = inputs(case)
    spec = case["weighting"]
    method = spec["method"]
    if method == "trim":
        t = spec["trim"]
        return trim_weights(w, lower=t["lower"], upper=t["upper"], strict=t["strict"]), None
    margins = parse_targets(spec["targets"], f, population=spec["population"])
    labels = [[f"{m.variable}={lev}" for lev in m.levels] for m in margins]
    if method == "poststratify":
        (m,) = margins
        c = margin_codes(f, m)
        new = poststratify_weights(c, w, m.totals, labels=labels[0])
        rep = None if W is None else poststratify_weights(c, W, m.totals, labels=labels[0])
        return new, rep
    if method == "rake":
        codes = [margin_codes(f, m) for m in margins]
        res = rake_weights(
            codes,
            w,
            [m.totals for m in margins],
            maxit=spec["maxit"],
            epsilon=spec["epsilon"],
            labels=labels,
            replicates=W,
            allow_nonconvergence="unconverged" in case["id"],
        )
        assert res.converged == ("unconverged" not in case["id"])
        return res.weights, res.replicate_weights
    X, pop = model_matrix(f, margins, population=spec["population"])
    bounds = tuple(spec["bounds"]) if spec["bounds"] is not None else (-np.inf, np.inf)
    g = grake(X, w, pop, calfun=method, bounds=bounds)
    rep = None
    if W is not None:
        rep, _failed = calibrate_replicates(X, W, pop, calfun=method, bounds=bounds)
    return w * g, rep


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_weights_match_r(case):
    if case["expect_error"]:
        with pytest.raises(WeightingError):
            run(case)
        return
    new, rep = run(case)
    np.testing.assert_allclose(new, np.array(case["weights"], dtype=float), rtol=RTOL, atol=0)
    if "replicate_weights_first3" in case:
        for j, col in enumerate(case["replicate_weights_first3"]):
            np.testing.assert_allclose(rep[:, j], np.array(col, dtype=float), rtol=RTOL, atol=1e-12)
    f = frame(case["data"])
    for est in case.get("estimates", []):
        y = f.get_column(est["variable"]).cast(pl.Float64).to_numpy()
        ok = ~np.isnan(y)
        tot = float(np.sum(new[ok] * y[ok]))
        val = tot / float(np.sum(new[ok])) if est["statistic"] == "mean" else tot
        assert val == pytest.approx(est["estimate"], rel=RTOL)


def test_replicate_logit_nonconvergence_is_reported():
    """R only warns when a replicate's calibration fails (keeps the last iterate); so do we."""
    case = next(c for c in CASES if c["id"] == "clus1jk1-replicate-calibrate-logit-0.5-2")
    f, w, W = inputs(case)
    margins = parse_targets(case["weighting"]["targets"], f, population=case["weighting"]["population"])
    X, pop = model_matrix(f, margins)
    _, failed = calibrate_replicates(X, W, pop, calfun="logit", bounds=(0.5, 2))
    assert len(failed) == 1
    with pytest.raises(WeightingError, match="replicate"):
        calibrate_replicates(X, W, pop, calfun="logit", bounds=(0.5, 2), allow_nonconvergence=False)


def test_kalton_published_tables():
    """Kalton & Flores-Cervantes (2003) adjustment factors (rounded), as R survey's tests/kalton.R."""
    f = frame("kalton")
    n_cell = np.bincount((f["a"].to_numpy() - 1) * 3 + f["b"].to_numpy() - 1, minlength=12)
    ids = {
        "A_poststratify": "kalton-poststratify-ab",
        "B_rake": "kalton-rake-ab-eps1e-4",
        "C_linear": "kalton-calibrate-linear",
        "D_greg": "kalton-calibrate-greg-numeric",
        "G_logit": "kalton-calibrate-logit-0.5-2.2",
        "G_trunclinear": "kalton-calibrate-linear-bounded-0.5-2.2",
    }
    for table, cid in ids.items():
        new, _ = run(next(c for c in CASES if c["id"] == cid))
        cell = (f["a"].to_numpy() - 1) * 3 + f["b"].to_numpy() - 1
        ratio = (np.bincount(cell, weights=new, minlength=12) / n_cell).reshape(4, 3)
        np.testing.assert_allclose(np.round(ratio, 2), np.array(GOLDEN["kalton_tables"][table]), atol=1e-12)
