"""Tests for inverse-propensity weighting. All data here are SYNTHETIC, generated with fixed seeds."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from quietpoll.errors import WeightingError
from quietpoll.weighting.diagnostics import smd
from quietpoll.weighting.propensity import PropensityResult, propensity_weights, trim_weights


def _synthetic(seed: int = 1, n_pop: int = 20_000, n_ref: int = 2_000):
    """SYNTHETIC population; the reference is a simple random sample, the sample self-selects on x and g."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_pop)
    g = rng.choice(np.array(["a", "b", "c"]), size=n_pop, p=[0.3, 0.5, 0.2])
    age = rng.integers(18, 80, size=n_pop)
    pop = pl.DataFrame({"x": x, "g": g, "age": age})
    ref = pop[rng.choice(n_pop, size=n_ref, replace=False)]
    p_sel = 1 / (1 + np.exp(-(-2.5 + 1.0 * x + 0.8 * (g == "a") - 0.02 * (age - 50))))
    sample = pop.filter(pl.Series(rng.random(n_pop) < p_sel))
    return sample, ref


@pytest.fixture(scope="module")
def synthetic():
    return _synthetic()


@pytest.fixture(scope="module")
def fitted(synthetic):
    sample, ref = synthetic
    return propensity_weights(sample, ref, ["x", "g", "age"], seed=0)


def test_result_shape(synthetic, fitted):
    sample, ref = synthetic
    r = fitted
    assert isinstance(r, PropensityResult)
    assert r.weights.shape == (sample.height,)
    assert r.propensity.shape == (sample.height,)
    assert np.all(r.weights > 0)
    assert np.all((r.propensity > 0) & (r.propensity < 1))
    assert r.covariates == ("x", "g", "age")
    assert r.penalty > 0
    assert "l2" in r.model
    # scaled to the reference total (unit reference weights -> its row count)
    assert r.weights.sum() == pytest.approx(ref.height, rel=1e-12)


def test_balance_improves(synthetic, fitted):
    sample, ref = synthetic
    rows = smd(sample, ["x", "g", "age"], np.ones(sample.height), fitted.weights, reference=ref)
    before = np.array([abs(r["smd_before"]) for r in rows])
    after = np.array([abs(r["smd_after"]) for r in rows])
    x_row = next(r for r in rows if r["variable"] == "x")
    assert abs(x_row["smd_before"]) > 0.4  # self-selection on x is strong
    assert abs(x_row["smd_after"]) < abs(x_row["smd_before"])
    assert abs(x_row["smd_after"]) < 0.1
    assert np.all(after < 0.1)
    assert after.max() < before.max()
    # weighted mean of x close to the reference mean
    wmean = np.average(sample["x"].to_numpy(), weights=fitted.weights)
    assert abs(wmean - ref["x"].mean()) < 0.1


def test_deterministic_for_seed(synthetic, fitted):
    sample, ref = synthetic
    again = propensity_weights(sample, ref, ["x", "g", "age"], seed=0)
    np.testing.assert_array_equal(again.weights, fitted.weights)
    np.testing.assert_array_equal(again.propensity, fitted.propensity)
    assert again.penalty == fitted.penalty


def test_design_weights_used():
    sample, ref = _synthetic(seed=2, n_pop=6000, n_ref=600)
    rw = np.full(ref.height, 10.0)
    sw = np.linspace(1, 2, sample.height)
    r = propensity_weights(sample, ref, ["x"], sample_weights=sw, reference_weights=rw, seed=0)
    assert r.weights.sum() == pytest.approx(rw.sum(), rel=1e-12)
    # a constant reference weight changes nothing but the scale
    r1 = propensity_weights(sample, ref, ["x"], sample_weights=sw, seed=0)
    np.testing.assert_allclose(r.weights, 10 * r1.weights, rtol=1e-9)


def test_l1_penalty():
    sample, ref = _synthetic(seed=3, n_pop=6000, n_ref=800)
    r = propensity_weights(sample, ref, ["x", "g"], penalty="l1", cv_folds=3, seed=0)
    assert "l1" in r.model
    rows = smd(sample, ["x"], np.ones(sample.height), r.weights, reference=ref)
    assert abs(rows[0]["smd_after"]) < abs(rows[0]["smd_before"])
    assert abs(rows[0]["smd_after"]) < 0.15


def test_trimming(synthetic):
    sample, ref = synthetic
    r = propensity_weights(sample, ref, ["x", "g", "age"], max_weight_ratio=3.0, seed=0)
    mean = r.weights.mean()
    assert r.weights.max() <= 3.0 * mean * (1 + 1e-9)
    assert r.weights.sum() == pytest.approx(ref.height, rel=1e-12)
    assert "capped" in r.model


def test_trim_weights_exact():
    # SYNTHETIC weights
    w = np.array([1.0, 1.0, 2.0, 3.0, 50.0, 100.0])
    out = trim_weights(w, 2.0)
    cap = 2.0 * w.mean()
    assert out.sum() == pytest.approx(w.sum())
    assert out.max() <= cap * (1 + 1e-12)
    assert np.all(np.diff(out[np.argsort(w, kind="stable")]) >= -1e-12)  # order preserved
    np.testing.assert_allclose(out[4:], cap)
    # uncapped weights scaled by one factor
    k = out[:4] / w[:4]
    np.testing.assert_allclose(k, k[0])
    # nothing to trim -> unchanged
    np.testing.assert_array_equal(trim_weights(np.ones(5), 2.0), np.ones(5))


def test_numeric_codes_match_text_levels():
    # SYNTHETIC: region coded 1/2/3 as numbers in the sample, as text in the reference
    rng = np.random.default_rng(5)
    s = pl.DataFrame({"region": rng.integers(1, 4, 60), "x": rng.normal(size=60)})
    r = pl.DataFrame({"region": rng.choice(["1", "2", "3"], 80), "x": rng.normal(size=80)})
    res = propensity_weights(s, r, ["region", "x"], seed=0)
    assert res.weights.shape == (60,)


# -------------------------------------------------------------------------------------------
# errors
# -------------------------------------------------------------------------------------------


def _small():
    """SYNTHETIC small frames."""
    rng = np.random.default_rng(7)
    s = pl.DataFrame({"x": rng.normal(size=40), "g": rng.choice(["a", "b"], 40)})
    r = pl.DataFrame({"x": rng.normal(size=50), "g": rng.choice(["a", "b"], 50)})
    return s, r


def test_error_missing_covariate():
    s, r = _small()
    with pytest.raises(WeightingError, match="'z' is not a column of the sample"):
        propensity_weights(s, r, ["x", "z"])
    with pytest.raises(WeightingError, match="'g' is not a column of the reference"):
        propensity_weights(s, r.drop("g"), ["x", "g"])


def test_error_level_not_in_reference():
    s, r = _small()
    s = s.with_columns(pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("zz")).otherwise(pl.col("g")).alias("g"))
    with pytest.raises(
        WeightingError, match=r"covariate 'g' has level\(s\) 'zz' in the sample but not in the reference"
    ):
        propensity_weights(s, r, ["x", "g"])


def test_level_only_in_reference_is_fine():
    s, r = _small()
    r = r.with_columns(pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("zz")).otherwise(pl.col("g")).alias("g"))
    res = propensity_weights(s, r, ["x", "g"])
    assert np.all(np.isfinite(res.weights))


@pytest.mark.parametrize("which", ["sample", "reference"])
def test_error_missing_values(which):
    s, r = _small()
    frames = {"sample": s, "reference": r}
    frames[which] = frames[which].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("x")).alias("x")
    )
    with pytest.raises(WeightingError, match=f"covariate 'x' has 1 missing value\\(s\\) in the {which}"):
        propensity_weights(frames["sample"], frames["reference"], ["x"])
    frames = {"sample": s, "reference": r}
    frames[which] = frames[which].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("g")).alias("g")
    )
    with pytest.raises(WeightingError, match=f"covariate 'g' has 1 missing value\\(s\\) in the {which}"):
        propensity_weights(frames["sample"], frames["reference"], ["g"])


def test_error_nan_counts_as_missing():
    s, r = _small()
    s = s.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(float("nan")).otherwise(pl.col("x")).alias("x"))
    with pytest.raises(WeightingError, match="missing value"):
        propensity_weights(s, r, ["x"])


def test_error_too_few_rows():
    s, r = _small()
    with pytest.raises(WeightingError, match="the sample has 9 rows"):
        propensity_weights(s.head(9), r, ["x"])
    with pytest.raises(WeightingError, match="the reference has 5 rows"):
        propensity_weights(s, r.head(5), ["x"])


def test_error_bad_options():
    s, r = _small()
    with pytest.raises(WeightingError, match="penalty"):
        propensity_weights(s, r, ["x"], penalty="elasticnet")
    with pytest.raises(WeightingError, match="cv_folds"):
        propensity_weights(s, r, ["x"], cv_folds=1)
    with pytest.raises(WeightingError, match="max_weight_ratio"):
        propensity_weights(s, r, ["x"], max_weight_ratio=1.0)
    with pytest.raises(WeightingError, match="sample_weights has 3 values"):
        propensity_weights(s, r, ["x"], sample_weights=np.ones(3))
    with pytest.raises(WeightingError, match="reference_weights contains negative"):
        propensity_weights(s, r, ["x"], reference_weights=-np.ones(r.height))
    with pytest.raises(WeightingError, match="at least one covariate"):
        propensity_weights(s, r, [])


def test_error_type_mismatch():
    s, r = _small()
    r = r.with_columns(pl.date(2020, 1, 1).alias("x"))
    with pytest.raises(WeightingError, match="covariate 'x' has type"):
        propensity_weights(s, r, ["x"])
