"""Weighting a design through the Python API: design.poststratify / rake / calibrate / trim return new
designs; propensity weighting against a reference sample, optionally raked afterwards (synthetic data)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.errors import WeightingError
from quietpoll.weighting import WeightingSpec


def _sample(seed=0, n=400):
    rng = np.random.default_rng(seed)  # SYNTHETIC data
    x = rng.normal(size=n)
    g = np.where(rng.random(n) < 0.7, "f", "m")
    return pl.DataFrame({"x": x, "g": g, "y": x + rng.normal(size=n), "w": np.ones(n)})


def test_methods_return_new_designs():
    f = _sample()
    des = qp.svydesign(f, weights="w")
    targets = {"g": {"f": 500, "m": 500}}
    for new in (
        des.poststratify(targets),
        des.rake(targets),
        des.calibrate(targets),
        des.calibrate(targets, calfun="logit", bounds=(0.2, 5)),
        des.calibrate(targets, calfun="raking"),
    ):
        assert new is not des and des.weights.sum() == pytest.approx(400)
        assert new.weights.sum() == pytest.approx(1000)
        assert qp.proportion(new, "g").rows[0].estimate == pytest.approx(0.5)
    trimmed = des.calibrate(targets).trim(upper=3.0)
    assert trimmed.weights.max() <= 3.0 + 1e-12


def test_propensity_then_rake(tmp_path):
    rng = np.random.default_rng(5)  # SYNTHETIC reference sample: x centred at 0.5, 50/50 sex
    ref = pl.DataFrame({"x": rng.normal(0.5, 1, 600), "g": rng.choice(["f", "m"], 600)})
    path = tmp_path / "reference.csv"
    ref.write_csv(path)
    sample = _sample(1)
    des = qp.svydesign(sample, weights="w")
    spec = WeightingSpec(method="propensity", reference=str(path), covariates=("x", "g"))
    pw = des.weight(spec)
    before = qp.mean(des, "x").rows[0].estimate
    after = qp.mean(pw, "x").rows[0].estimate
    assert abs(after - 0.5) < abs(before - 0.5)
    raked = des.weight(
        WeightingSpec(
            method="propensity",
            reference=str(path),
            covariates=("x", "g"),
            then="rake",
            targets={"g": {"f": 300, "m": 300}},
        )
    )
    assert qp.proportion(raked, "g").rows[0].estimate == pytest.approx(0.5)


def test_spec_errors():
    with pytest.raises(WeightingError, match="bounds"):
        WeightingSpec(method="logit", targets={"g": {"f": 1, "m": 1}})
    with pytest.raises(WeightingError, match="reference"):
        WeightingSpec(method="propensity")
    with pytest.raises(WeightingError, match="method"):
        WeightingSpec(method="magic", targets={"g": {"f": 1}})
    with pytest.raises(WeightingError, match="no targets"):
        WeightingSpec(method="rake")


def test_min_cell_merges_a_target_level_no_interview_has():
    """A small sample rarely reaches every province: with min_cell, a target level absent from the data
    is merged like a sparse one (targets summed, the merge recorded) instead of an error."""
    from quietpoll.weighting.apply import apply_weighting

    f = _sample(n=60).with_columns(pl.Series("p", ["a"] * 30 + ["b"] * 25 + ["c"] * 5))
    des = qp.svydesign(f, weights="w")
    targets = {"p": {"a": 400, "b": 300, "c": 200, "d": 100}}  # nobody from "d"
    with pytest.raises(WeightingError, match="'d' of 'p' does not occur"):
        apply_weighting(des, WeightingSpec(method="rake", targets=targets))
    record: list = []
    new = apply_weighting(des, WeightingSpec(method="rake", targets=targets, min_cell=5), record)
    assert new.weights.sum() == pytest.approx(1000)
    merged = {r["into"]: r for r in record}
    assert any("d" in r["merged"] and "c" in r["merged"] for r in record), record
    assert sorted(len(r["merged"]) for r in merged.values()) == [2]
    share = {r.level: r.estimate for r in qp.proportion(new, "p").rows}
    assert share["a"] == pytest.approx(0.4) and share["b"] == pytest.approx(0.3)
    assert share["c"] == pytest.approx(0.3)  # c carries its own and d's population
