"""The linear list-experiment regression (Imai 2011; ictreg(method = "lm")) against R's
svyglm(count ~ (x1 + x2) * treat) on complex designs (golden/listreg.json, written by
make_golden_listreg.R with survey 4.1.1): every coefficient, SE, the full covariance and the residual
df at rtol 1e-9, on a stratified cluster design with and without fpc, a two-stage design, the
first post-stratified and the second calibrated (linear, to x2 and the total of x1), JK1
replicate weights, and with missing covariate values (rows outside the fit, kept in the design).
quietpoll reports the treatment terms as the sensitive model (`treat` -> its intercept, `x1:treat`
-> its x1 slope) and the others as the control model; the test maps them back to R's names."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import quietpoll as qp
from quietpoll.weighting.apply import WeightingSpec
from quietpoll.estimators.list_reg import list_regression

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "golden" / "listreg.json").read_text())
CASES = GOLDEN["cases"]
RTOL = 1e-9


@lru_cache(maxsize=None)
def frame(name):
    return qp.read_data(HERE / "data" / f"{name}.csv").frame


def design(case):
    d = frame(case["data"])
    if case["replicate"]:
        r = case["replicate"]
        cols = [c for c in d.columns if c.startswith("rw")]
        return qp.svrepdesign(d, repweights=cols, type=r["type"], weights="pw", scale=r["scale"], rscales=r["rscales"])
    s = case["spec"]
    des = qp.svydesign(d, ids=s["ids"], strata=s["strata"], weights=s["weights"], fpc=s["fpc"])
    w = case.get("weighting")
    if w:
        des = des.weight(WeightingSpec(method=w["method"], targets=w["targets"], population=w["population"]))
    return des


def r_name(term: str, part: str) -> str:
    if part == "control":
        return term
    return "treat" if term == "(Intercept)" else f"{term}:treat"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_linear_list_model_matches_svyglm(case):
    rhs = case["formula"].split("~")[1].replace("* treat", "").strip()
    res = list_regression(design(case), f"count ~ {rhs}", "treat", method="lm")
    rows = res.coefficients()
    names = [r_name(r["term"], r["part"]) for r in rows]
    assert sorted(names) == sorted(case["terms"])
    idx = [case["terms"].index(nm) for nm in names]
    np.testing.assert_allclose([r["estimate"] for r in rows], np.array(case["estimate"])[idx], rtol=RTOL)
    np.testing.assert_allclose([r["se"] for r in rows], np.array(case["se"])[idx], rtol=RTOL)
    V = np.array(case["vcov"])[np.ix_(idx, idx)]
    np.testing.assert_allclose(res.vcov, V, rtol=RTOL, atol=1e-14 * np.abs(V).max())
    assert res.df_residual == case["df_residual"]
    assert res.n == case["n"]
    assert [r["part"] for r in rows] == ["sensitive"] * (len(rows) // 2) + ["control"] * (len(rows) // 2)
