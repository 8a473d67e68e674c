"""List-experiment and randomized-response estimators: hand-computed values against independent
numpy computations, Taylor vs replicate agreement, unclipped estimates, bad parameters, domains.
All data here are synthetic (generated in the tests)."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.errors import ColumnError, EstimationError
from quietpoll.estimators import ci as cimod
from quietpoll.estimators.sensitive import list_experiment, randomized_response, rr_transform

# a small SRS-like example: equal weights, one stratum, every row its own PSU
SMALL = pl.DataFrame(
    {
        "count": [2, 3, 1, 4, 2, 3, 1, 2, 0, 3, 2, 1],
        "treat": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
        "ans": [1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0],
        "g": ["a", "a", "b", "b", "a", "b", "a", "b", "a", "b", "a", "b"],
        "w": [10.0] * 12,
    }
)


def srs(frame=SMALL):
    return qp.svydesign(frame, weights="w")


def test_list_experiment_small_srs_by_hand():
    y = SMALL["count"].to_numpy().astype(float)
    t = SMALL["treat"].to_numpy().astype(float)
    n = len(y)
    y1, y0 = y[t == 1], y[t == 0]
    n1, n0 = len(y1), len(y0)
    est_hand = y1.mean() - y0.mean()
    # textbook with-replacement linearization: n/(n-1) * sum over rows of the centred influence squared;
    # with equal weights the influence of a treated row is (y - m1)/n1, of a control row -(y - m0)/n0
    var_hand = n / (n - 1) * (((y1 - y1.mean()) ** 2).sum() / n1**2 + ((y0 - y0.mean()) ** 2).sum() / n0**2)
    # the same from the influence values directly (weights included)
    w = SMALL["w"].to_numpy()
    W1, W0 = w @ t, w @ (1 - t)
    m1, m0 = (w * t) @ y / W1, (w * (1 - t)) @ y / W0
    z = w * (t * (y - m1) / W1 - (1 - t) * (y - m0) / W0)
    var_np = n / (n - 1) * ((z - z.mean()) ** 2).sum()
    assert var_np == pytest.approx(var_hand, rel=1e-12)

    tab = list_experiment(srs(), "count", "treat")
    (row,) = tab.rows
    assert row.statistic == "list_experiment" and row.variable == "count" and row.level is None
    assert row.estimate == pytest.approx(est_hand, rel=1e-12)
    assert row.se == pytest.approx(math.sqrt(var_hand), rel=1e-12)
    assert row.df == n - 1
    q = cimod.critical(0.95, n - 1)
    assert row.ci_low == pytest.approx(est_hand - q * math.sqrt(var_hand), rel=1e-12)
    assert row.ci_high == pytest.approx(est_hand + q * math.sqrt(var_hand), rel=1e-12)
    assert row.n == n and row.n_missing == 0 and row.deff is None
    json.dumps(tab.to_json_obj(), allow_nan=False)


def test_list_experiment_treatment_labels_and_missing():
    data = SMALL.with_columns(
        pl.when(pl.col("treat") == 1).then(pl.lit("Treatment")).otherwise(pl.lit("control")).alias("arm"),
        pl.col("treat").cast(pl.Boolean).alias("tb"),
    )
    base = list_experiment(srs(data), "count", "treat").rows[0]
    for col in ("arm", "tb"):
        r = list_experiment(srs(data), "count", col).rows[0]
        assert r.estimate == pytest.approx(base.estimate, rel=1e-12)
        assert r.se == pytest.approx(base.se, rel=1e-12)
    # a missing count and a missing treatment: both rows excluded and counted
    miss = data.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("count")).alias("count"),
        pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise(pl.col("treat")).alias("treat"),
    )
    r = list_experiment(srs(miss), "count", "treat").rows[0]
    keep = [i for i in range(12) if i not in (0, 7)]
    sub = SMALL[keep]
    y, t = sub["count"].to_numpy(), sub["treat"].to_numpy()
    assert r.estimate == pytest.approx(y[t == 1].mean() - y[t == 0].mean(), rel=1e-12)
    assert r.n == 10 and r.n_missing == 2
    # unrecognized text labels
    bad = SMALL.with_columns(pl.when(pl.col("treat") == 1).then(pl.lit("A")).otherwise(pl.lit("B")).alias("arm"))
    with pytest.raises(ColumnError, match="treated group"):
        list_experiment(srs(bad), "count", "arm")
    bad2 = SMALL.with_columns((pl.col("treat") * 2).alias("t2"))
    with pytest.raises(ColumnError, match="0 and 1"):
        list_experiment(srs(bad2), "count", "t2")


def test_list_experiment_by_domain():
    tab = list_experiment(srs(), "count", "treat", by="g")
    assert [r.domain for r in tab.rows] == [{"g": "a"}, {"g": "b"}]
    for r in tab.rows:
        sub = SMALL.filter(pl.col("g") == r.domain["g"])
        y, t = sub["count"].to_numpy().astype(float), sub["treat"].to_numpy()
        assert r.estimate == pytest.approx(y[t == 1].mean() - y[t == 0].mean(), rel=1e-12)
        # domain linearization over the whole sample: influence zero outside the domain
        full_y, full_t = SMALL["count"].to_numpy().astype(float), SMALL["treat"].to_numpy().astype(float)
        d = (SMALL["g"] == r.domain["g"]).to_numpy().astype(float)
        w = SMALL["w"].to_numpy()
        W1, W0 = (w * d) @ full_t, (w * d) @ (1 - full_t)
        m1, m0 = (w * d * full_t) @ full_y / W1, (w * d * (1 - full_t)) @ full_y / W0
        z = w * d * (full_t * (full_y - m1) / W1 - (1 - full_t) * (full_y - m0) / W0)
        n = len(z)
        assert r.se**2 == pytest.approx(n / (n - 1) * ((z - z.mean()) ** 2).sum(), rel=1e-12)
        assert r.n == 6 and r.n_missing == 0


def test_list_experiment_domain_without_controls_gives_missing_estimate():
    data = SMALL.with_columns(pl.when(pl.col("treat") == 1).then(pl.lit("x")).otherwise(pl.col("g")).alias("h"))
    tab = list_experiment(srs(data), "count", "treat", by="h")
    by = {r.domain["h"]: r for r in tab.rows}
    # x holds only treated rows, a and b only control rows: no difference can be formed
    assert sorted(by) == ["a", "b", "x"]
    assert all(math.isnan(r.estimate) and math.isnan(r.se) for r in tab.rows)
    assert by["x"].n == 6 and by["a"].n == 3
    json.dumps(tab.to_json_obj(), allow_nan=False)


def synthetic(n_strata=6, psu_per=8, per_psu=25, seed=1):
    """Synthetic stratified cluster sample with a list experiment and a forced-response question."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(n_strata):
        for j in range(psu_per):
            u = rng.normal(0, 0.4)
            for _ in range(per_psu):
                treat = int(rng.random() < 0.5)
                base = rng.binomial(4, 1 / (1 + math.exp(-(u - 0.3))))
                sens = int(rng.random() < 0.25 + 0.05 * h)
                rows.append(
                    {
                        "stratum": h,
                        "psu": h * 100 + j,
                        "w": float(rng.uniform(5, 40)),
                        "count": base + treat * sens,
                        "treat": treat,
                        "ans": int(rng.random() < 0.7 * (0.25 + 0.05 * h) + 0.1),
                        "region": "north" if h < 3 else "south",
                    }
                )
    return pl.DataFrame(rows)


def test_taylor_and_replicate_agree_on_synthetic_sample():
    data = synthetic()
    tay = qp.svydesign(data, ids="psu", strata="stratum", weights="w")
    rep = qp.as_svrepdesign(tay, "JKn")
    for by in (None, "region"):
        a = list_experiment(tay, "count", "treat", by=by)
        b = list_experiment(rep, "count", "treat", by=by)
        for ra, rb in zip(a.rows, b.rows):
            assert ra.domain == rb.domain
            assert ra.estimate == pytest.approx(rb.estimate, rel=1e-12)
            assert rb.se == pytest.approx(ra.se, rel=0.05)
        a = randomized_response(tay, "ans", rr_design="forced", p_truth=0.7, p_yes=0.1, by=by)
        b = randomized_response(rep, "ans", rr_design="forced", p_truth=0.7, p_yes=0.1, by=by)
        for ra, rb in zip(a.rows, b.rows):
            assert ra.estimate == pytest.approx(rb.estimate, rel=1e-12)
            assert rb.se == pytest.approx(ra.se, rel=0.05)


def test_replicate_variance_matches_numpy():
    data = synthetic(n_strata=3, psu_per=5, per_psu=10, seed=3)
    rep = qp.as_svrepdesign(qp.svydesign(data, ids="psu", strata="stratum", weights="w"), "JKn")
    y, t = data["count"].to_numpy().astype(float), data["treat"].to_numpy().astype(float)
    W = np.asarray(rep.rep_matrix(slice(None)), float)
    d = (W * (y * t)[:, None]).sum(0) / (W * t[:, None]).sum(0) - (W * (y * (1 - t))[:, None]).sum(0) / (
        W * (1 - t)[:, None]
    ).sum(0)
    v = rep.scale * (rep.rscales * (d - d.mean()) ** 2).sum()
    r = list_experiment(rep, "count", "treat").rows[0]
    assert r.se**2 == pytest.approx(v, rel=1e-10)
    # the covariance matters: the variance of the difference is not the sum of the two variances
    m = qp.mean(rep, "count", by="treat")
    assert r.estimate == pytest.approx(m.rows[1].estimate - m.rows[0].estimate, rel=1e-12)


@pytest.mark.parametrize(
    "kw,a,c",
    [
        (dict(rr_design="forced", p_truth=0.75, p_yes=0.1), 0.75, 0.1),
        (dict(rr_design="warner", p=0.7), 0.4, 0.3),
        (dict(rr_design="warner", p=0.2), -0.6, 0.8),
        (dict(rr_design="unrelated", p=0.6, p_unrelated=0.3), 0.6, 0.4 * 0.3),
    ],
)
def test_randomized_response_is_linear_transform_of_mean(kw, a, c):
    des = srs()
    lam = qp.mean(des, "ans").rows[0]
    r = randomized_response(des, "ans", **kw).rows[0]
    assert r.statistic == "randomized_response" and r.variable == "ans" and r.level is None
    assert r.estimate == pytest.approx((lam.estimate - c) / a, rel=1e-12)
    assert r.se == pytest.approx(lam.se / abs(a), rel=1e-12)
    # by hand: lambda = 5/12, var = n/(n-1) * sum((y - lam)^2) / n^2 for equal weights
    y = SMALL["ans"].to_numpy().astype(float)
    n = len(y)
    v_hand = ((y - y.mean()) ** 2).sum() / (n * (n - 1))
    assert r.se == pytest.approx(math.sqrt(v_hand) / abs(a), rel=1e-12)
    assert r.deff == pytest.approx(lam.deff, rel=1e-10)


def test_randomized_response_unclipped():
    # 2 "yes" of 12 with a forced-yes chance of 0.3: lambda = 1/6 < p_yes, so pi < 0
    data = SMALL.with_columns(pl.Series("ans", [1, 1] + [0] * 10))
    r = randomized_response(srs(data), "ans", rr_design="forced", p_truth=0.6, p_yes=0.3).rows[0]
    assert r.estimate == pytest.approx((1 / 6 - 0.3) / 0.6, rel=1e-12)
    assert r.estimate < 0 and r.ci_low < 0
    # all yes with forced-yes 0.2 and p_truth 0.5: pi = (1 - 0.2)/0.5 = 1.6 > 1
    data = SMALL.with_columns(pl.Series("ans", [1] * 12))
    r = randomized_response(srs(data), "ans", rr_design="forced", p_truth=0.5, p_yes=0.2).rows[0]
    assert r.estimate == pytest.approx(1.6, rel=1e-12)
    # list experiment: a negative difference is reported as is
    data = SMALL.with_columns(pl.Series("treat", [0] * 6 + [1] * 6))
    r = list_experiment(srs(data), "count", "treat").rows[0]
    assert r.estimate < 0


def test_randomized_response_text_answers_and_domains():
    data = SMALL.with_columns(pl.when(pl.col("ans") == 1).then(pl.lit("Yes")).otherwise(pl.lit("No")).alias("txt"))
    a = randomized_response(srs(data), "txt", rr_design="warner", p=0.8, by="g")
    b = randomized_response(srs(data), "ans", rr_design="warner", p=0.8, by="g")
    assert [r.domain for r in a.rows] == [{"g": "a"}, {"g": "b"}]
    for ra, rb in zip(a.rows, b.rows):
        assert ra.estimate == pytest.approx(rb.estimate, rel=1e-12)
        assert ra.se == pytest.approx(rb.se, rel=1e-12)
        lam = SMALL.filter(pl.col("g") == ra.domain["g"])["ans"].mean()
        assert ra.estimate == pytest.approx((lam - 0.2) / 0.6, rel=1e-12)


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(rr_design="warner", p=0.5), "unidentifiable"),
        (dict(rr_design="warner", p=1.2), r"p must be in"),
        (dict(rr_design="warner"), "p is required"),
        (dict(rr_design="forced", p_truth=0.8), "p_yes is required"),
        (dict(rr_design="forced", p_truth=0.0, p_yes=0.1), "p_truth must be in"),
        (dict(rr_design="forced", p_truth=0.8, p_yes=0.3), "at most 1"),
        (dict(rr_design="forced", p_truth=0.8, p_yes=-0.1), "p_yes must be in"),
        (dict(rr_design="forced", p_truth=0.8, p_yes=0.1, p=0.3), "does not apply"),
        (dict(rr_design="unrelated", p=0.7), "p_unrelated is required"),
        (dict(rr_design="unrelated", p=0.7, p_unrelated=1.5), "p_unrelated must be in"),
        (dict(rr_design="unrelated", p=0.0, p_unrelated=0.5), r"p must be in"),
        (dict(rr_design="spinner", p=0.7), "^rr_design must be one of"),
        (dict(rr_design="warner", p="abc"), "must be a probability"),
    ],
)
def test_bad_parameters(kw, msg):
    with pytest.raises(EstimationError, match=msg):
        randomized_response(srs(), "ans", **kw)


def test_rr_transform_values():
    assert rr_transform("forced", p_truth=0.75, p_yes=0.125) == (0.75, 0.125)
    a, c = rr_transform("warner", p=0.25)
    assert (a, c) == pytest.approx((-0.5, 0.75))


def test_bad_answer_column():
    data = SMALL.with_columns(pl.Series("ans", [0, 1, 2] * 4))
    with pytest.raises(ColumnError, match="0 and 1"):
        randomized_response(srs(data), "ans", rr_design="warner", p=0.7)
