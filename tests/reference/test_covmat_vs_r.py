"""The joint covariance of estimate tables against R's survey package: every case in
golden/covmat.json (make_golden_covmat.R, survey 4.1.1) -- svyby(..., covmat = TRUE) by domain and
vcov(svymean / svytotal) of two variables, on Taylor and replicate designs -- must agree to rtol 1e-9
(entries within 1e-9 of the matrix's largest entry count as agreeing: R writes exact zeros where
quietpoll's sums leave rounding residue)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import quietpoll as qp
from quietpoll.design import DesignSpec

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "golden" / "covmat.json").read_text())
RTOL = 1e-9


@lru_cache(maxsize=None)
def frame(name: str):
    return qp.read_data(HERE / "data" / f"{name}.csv").frame


def run(case):
    d = dict(case["design"])
    d.pop("kind")
    des = DesignSpec.from_mapping(d).build(frame(case["data"]))
    fn = {"mean": qp.mean, "total": qp.total}[case["statistic"]]
    return fn(des, case["variables"], by=case["by"])


def test_golden_covers_the_designs():
    kinds = {(c["design"]["kind"], (c["design"].get("replicates") or {}).get("type")) for c in GOLDEN["cases"]}
    assert {("taylor", None), ("replicate", "JK1"), ("replicate", "bootstrap"), ("replicate", "BRR")} <= kinds
    assert any(c["by"] and len(c["variables"]) == 2 for c in GOLDEN["cases"])


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_coef_and_vcov_match_r(case):
    table = run(case)
    by = case["by"]
    domains = case["domains"] or [None] * len(case["vars"])
    want = [(f"{by}={dom}:" if by else "") + var for dom, var in zip(domains, case["vars"])]
    assert sorted(table.names) == sorted(want)
    idx = [table.names.index(w) for w in want]
    coef, V = table.coef()[idx], table.vcov()[np.ix_(idx, idx)]
    R = np.array(case["vcov"], dtype=float)
    np.testing.assert_allclose(coef, case["coef"], rtol=RTOL)
    np.testing.assert_allclose(V, R, rtol=RTOL, atol=RTOL * np.abs(R).max())
    # the diagonal is each row's own variance
    np.testing.assert_allclose(np.sqrt(np.diag(table.vcov())), [r.se for r in table.rows], rtol=1e-9)
