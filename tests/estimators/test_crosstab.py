"""crosstab against R's svychisq (golden file from tests/reference/make_golden_crosstab.R, survey
4.1.1; no R needed at test time), and its errors."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.design import DesignSpec
from quietpoll.errors import ColumnError, EstimationError
from quietpoll.estimators.crosstab import Crosstab, crosstab

REF = Path(__file__).resolve().parents[1] / "reference"
GOLDEN = json.loads((REF / "golden" / "crosstab.json").read_text())
CASES = GOLDEN["cases"]
RTOL = 1e-9


@lru_cache(maxsize=None)
def frame(name: str) -> pl.DataFrame:
    return qp.read_data(REF / "data" / f"{name}.csv").frame


def build(case):
    data = frame(case["data"])
    if case["extra"]:
        data = data.with_columns(pl.Series(k, v) for k, v in case["extra"].items())
    spec = dict(case["design"])
    spec.pop("kind")
    return DesignSpec.from_mapping(spec).build(data)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_r(case):
    res = crosstab(build(case), case["row"], case["col"], statistic=case["statistic"])
    assert list(res.row_levels) == case["row_levels"]
    assert list(res.col_levels) == case["col_levels"]
    assert res.n == case["n"]
    np.testing.assert_allclose(res.proportions, np.array(case["proportions"]), rtol=RTOL, atol=0)
    np.testing.assert_allclose(res.se, np.array(case["se"]), rtol=RTOL, atol=0)
    np.testing.assert_allclose(res.value, case["value"], rtol=RTOL)
    np.testing.assert_allclose(res.ndf, case["ndf"], rtol=RTOL)
    if case["ddf"] is None:
        assert res.ddf is None
    else:
        np.testing.assert_allclose(res.ddf, case["ddf"], rtol=RTOL)
    np.testing.assert_allclose(res.p_value, case["p_value"], rtol=RTOL)
    np.testing.assert_allclose(res.pearson, case["pearson"], rtol=RTOL)
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["test"]["method"] == case["method"]
    assert d["test"]["statistic"] == case["statistic"]


def _dclus1():
    return qp.svydesign(frame("apiclus1"), ids="dnum", weights="pw", fpc="fpc")


def test_to_dict_shape():
    res = crosstab(_dclus1(), "sch.wide", "stype")
    assert isinstance(res, Crosstab)
    d = res.to_dict()
    assert set(d) == {
        "row",
        "col",
        "row_levels",
        "col_levels",
        "proportions",
        "se",
        "test",
        "pearson_chisq",
        "n",
        "counts",
        "counts_se",
        "row_percent",
        "row_percent_se",
        "col_percent",
        "col_percent_se",
    }
    for k in ("row_percent", "col_percent", "counts"):
        assert len(d[k]) == 2 and len(d[k][0]) == 3
    assert all(math.isclose(sum(r), 100.0, rel_tol=1e-12) for r in d["row_percent"])
    assert all(math.isclose(sum(r[j] for r in d["col_percent"]), 100.0, rel_tol=1e-12) for j in range(3))
    assert set(d["test"]) == {"statistic", "value", "ndf", "ddf", "p_value", "method"}
    assert len(d["proportions"]) == 2 and len(d["proportions"][0]) == 3
    assert math.isclose(sum(map(sum, d["proportions"])), 1.0, rel_tol=1e-12)
    chisq = crosstab(_dclus1(), "sch.wide", "stype", statistic="Chisq").to_dict()
    assert chisq["test"]["ddf"] is None and chisq["test"]["ndf"] == 2.0


def test_na_rm_false_gives_nan_test():
    data = frame("apiclus2").with_columns(
        pl.when(pl.col("enroll") > 400)
        .then(pl.lit("big"))
        .when(pl.col("enroll").is_not_null())
        .then(pl.lit("small"))
        .otherwise(None)
        .alias("size")
    )
    des = qp.svydesign(data, ids=["dnum", "snum"], weights="pw", fpc=["fpc1", "fpc2"])
    kept = crosstab(des, "size", "stype")
    res = crosstab(des, "size", "stype", na_rm=False)
    assert math.isnan(res.value) and math.isnan(res.p_value)
    np.testing.assert_array_equal(res.proportions, kept.proportions)
    assert res.to_dict()["test"]["p_value"] is None
    # without missing values na_rm makes no difference
    a = crosstab(des, "sch.wide", "stype", na_rm=False)
    b = crosstab(des, "sch.wide", "stype")
    assert a.p_value == b.p_value


def test_transpose_gives_same_test():
    a = crosstab(_dclus1(), "sch.wide", "stype")
    b = crosstab(_dclus1(), "stype", "sch.wide")
    assert math.isclose(a.value, b.value, rel_tol=1e-10)
    assert math.isclose(a.p_value, b.p_value, rel_tol=1e-10)
    np.testing.assert_allclose(a.proportions, b.proportions.T, rtol=1e-12)


def test_unknown_statistic():
    with pytest.raises(EstimationError, match="unknown crosstab statistic 'Wald'"):
        crosstab(_dclus1(), "sch.wide", "stype", statistic="Wald")


def test_missing_column():
    with pytest.raises(ColumnError, match="'stipe'.*did you mean 'stype'"):
        crosstab(_dclus1(), "sch.wide", "stipe")


def test_single_level():
    data = frame("apiclus1").with_columns(pl.lit("x").alias("one"))
    des = qp.svydesign(data, ids="dnum", weights="pw", fpc="fpc")
    with pytest.raises(EstimationError, match="column 'one' has only 'x'.*at least 2 levels"):
        crosstab(des, "one", "stype")
    data = frame("apiclus1").with_columns(pl.lit(None, dtype=pl.String).alias("empty"))
    des = qp.svydesign(data, ids="dnum", weights="pw", fpc="fpc")
    with pytest.raises(EstimationError, match="column 'empty' has no values"):
        crosstab(des, "stype", "empty")


def test_same_column_twice():
    with pytest.raises(EstimationError, match="two different columns"):
        crosstab(_dclus1(), "stype", "stype")
