"""Weighted designs against R's survey package: after postStratify / rake / calibrate / trimWeights
(golden/weighting.json, make_golden_weighting.R) the final weights agree to rtol 1e-9 and the
estimates' standard errors (svymean, svytotal) to 1e-8, for Taylor and replicate designs: the SEs
use the weighting's residuals (Taylor) or the re-weighted replicates (replicate designs)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import quietpoll as qp
from quietpoll.design import DesignSpec
from quietpoll.errors import WeightingError
from quietpoll.weighting import WeightingSpec

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "golden" / "weighting.json").read_text())
CASES = [c for c in GOLDEN["cases"] if c["data"] != "kalton"]


@lru_cache(maxsize=None)
def frame(name: str):
    return qp.read_data(HERE / "data" / f"{name}.csv").frame


def weighted(case):
    d = dict(case["design"])
    d.pop("kind")
    des = DesignSpec.from_mapping(d).build(frame(case["data"]))
    w = case["weighting"]
    if w["method"] == "trim":
        t = w["trim"]
        return des.trim(t.get("lower"), t.get("upper"), bool(t.get("strict")))
    spec = WeightingSpec(
        method=w["method"],
        targets=w["targets"],
        population=w.get("population"),
        bounds=tuple(w["bounds"]) if w.get("bounds") else None,
        maxit=w.get("maxit"),
        epsilon=w.get("epsilon"),
        allow_nonconvergence="unconverged" in case["id"],
    )
    return des.weight(spec)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_weighted_design_matches_r(case):
    if case.get("expect_error"):
        with pytest.raises(WeightingError):
            weighted(case)
        return
    des = weighted(case)
    np.testing.assert_allclose(des.weights, case["weights"], rtol=1e-9)
    if case.get("replicate_weights_first3"):
        W = des.repweights.rows(slice(None))[:, :3].T
        np.testing.assert_allclose(W, case["replicate_weights_first3"], rtol=1e-9)
    for e in case["estimates"]:
        fn = qp.mean if e["statistic"] == "mean" else qp.total
        row = fn(des, e["variable"]).rows[0]
        assert row.estimate == pytest.approx(e["estimate"], rel=1e-9)
        assert row.se == pytest.approx(e["se"], rel=1e-8), (e, row.se)
