"""The SYNTHETIC demo study (quietpoll.demo_study): shape of the samples, planted faults, determinism,
and the honest result: weighted 95% intervals cover most true values, naive estimates miss most."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import polars as pl
import pytest

from quietpoll.demo import run_pipeline
from quietpoll.demo_study import CENSUS, PROVINCE_GROUPS, make_study
from quietpoll.instrument.exports import read_responses
from quietpoll.instrument.form import load_instrument
from quietpoll.quality.validation import validate


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("demo") / "study")


@pytest.fixture(scope="module")
def summary(study):
    return run_pipeline(study)


@pytest.fixture(scope="module")
def data(study):
    return pl.read_csv(study / "responses.csv", infer_schema_length=None)


def test_files_and_synthetic_labels(study, data):
    names = {p.name for p in study.iterdir()}
    assert {"study.toml", "form.xlsx", "responses.csv", "truth.json", "README-SYNTHETIC.md"} <= names
    cfg = tomllib.loads((study / "study.toml").read_text(encoding="utf-8"))
    assert cfg["study"]["synthetic"] is True and "SYNTHETIC" in cfg["study"]["title"]
    assert "SYNTHETIC" in (study / "README-SYNTHETIC.md").read_text(encoding="utf-8")
    assert data["_synthetic"].unique().to_list() == ["SYNTHETIC"]
    assert "SYNTHETIC" in load_instrument(study / "form.xlsx").title


def test_sample_shape(data):
    counts = dict(data.group_by("sample").len().iter_rows())
    assert counts == {"residents": 50, "defectors": 100}
    d = data.filter(pl.col("sample") == "defectors")
    assert (d["sex"] == "female").mean() == pytest.approx(0.72, abs=0.01)
    assert d["province"].is_in(["north_hamgyong", "ryanggang"]).mean() > 0.75
    assert set(d["exit_cohort"]) >= {"before_2012", "2012_2015", "2016_2019"}
    assert d["year_left"].null_count() == 0 and (d["mode"] == "face_to_face").all()
    r = data.filter(pl.col("sample") == "residents")
    assert (r["status"] == "inside").all() and (r["mode"] == "phone").all() and r["year_left"].null_count() == 50
    assert r["province"].n_unique() == 10  # residents are spread over every province


def test_derived_columns_follow_the_answers(data):
    group_of = {p: g for g, ps in PROVINCE_GROUPS.items() for p in ps}
    assert (data["province"].replace_strict(group_of) == data["province_group"]).all()
    assert ((data["status"] == "inside") == (data["sample"] == "residents")).all()
    left = data.filter(pl.col("status") == "left")
    cohort = np.select(
        [left["year_left"] < 2012, left["year_left"] < 2016, left["year_left"] < 2020],
        ["before_2012", "2012_2015", "2016_2019"],
        "2020_on",
    )
    assert (left["exit_cohort"].to_numpy() == cohort).all()
    assert (data["le_count"] <= 4 + data["le_treat"]).all()
    watched = data["ever_watched"] == "yes"
    assert data.filter(~watched)["origins"].null_count() == data.filter(~watched).height
    assert ((data["watched_sk"] == 1) == data["origins"].str.contains("south_korea").fill_null(False)).all()


def test_truth_keys_are_the_indicators(study):
    cfg = tomllib.loads((study / "study.toml").read_text(encoding="utf-8"))
    truth = json.loads((study / "truth.json").read_text(encoding="utf-8"))
    assert set(truth) == {i["id"] for i in cfg["report"]["indicators"]}
    assert all(0 < v < 1 for v in truth.values())


def test_weighting_targets_are_the_census_margins(study):
    w = tomllib.loads((study / "study.toml").read_text(encoding="utf-8"))["weighting"]
    sex = w["targets"]["sex"]
    assert sex["female"] == pytest.approx(CENSUS["sex"]["female"] / CENSUS["total"], rel=1e-12)
    prov = w["targets"]["province_group"]
    assert prov["ne_border"] == pytest.approx((2_327_362 + 719_269) / (CENSUS["total"] - CENSUS["military_camps"]))
    for margin in w["targets"].values():
        assert sum(margin.values()) == pytest.approx(1.0, abs=1e-12)
    assert w["targets"]["age_group"]["a65_plus"] == pytest.approx(8.72 / (68.09 + 8.72))


def test_only_the_planted_problem_is_reported(study):
    form = load_instrument(study / "form.xlsx")
    result = validate(read_responses(study / "responses.csv", form).main, form)
    assert [(p["column"], p["rule"], p["value"]) for p in result.to_dict()["problems"]] == [
        ("months_third", "constraint", "700")
    ]
    assert result.unsupported == ()


def test_copied_interviews_are_flagged(summary, data):
    flagged = summary["flagged_rows"]
    assert len(flagged) == 4  # three copies and the interview they copy
    assert set(data["intermediary"].gather(flagged)) == {"R3"}
    assert summary["n_analysed"] == 146


def test_same_seed_same_study_other_seed_other_study(tmp_path, study):
    again = make_study(tmp_path / "a")
    for name in ("responses.csv", "truth.json", "study.toml", "README-SYNTHETIC.md"):
        assert (again / name).read_bytes() == (study / name).read_bytes()
    other = make_study(tmp_path / "b", seed=7)
    assert (other / "responses.csv").read_bytes() != (study / "responses.csv").read_bytes()


def _honest(summary):
    rows = summary["indicators"]
    return len(rows), sum(r["covered"] for r in rows), sum(r["naive_miss"] for r in rows)


def test_honest_result(summary):
    """Most weighted 95% intervals cover the truth; most naive estimates are more than 2 SE off."""
    n, covered, missed = _honest(summary)
    assert n == 10
    assert covered >= 7, summary["indicators"]
    assert missed >= 7, summary["indicators"]
    for r in summary["indicators"]:
        assert r["ci_low"] <= r["estimate"] <= r["ci_high"]
    # the weighting moves the estimates toward the truth on average
    errs = np.array([[abs(r["naive"] - r["truth"]), abs(r["estimate"] - r["truth"])] for r in summary["indicators"]])
    assert errs[:, 1].mean() < 0.6 * errs[:, 0].mean()


def test_honest_result_holds_for_another_seed(tmp_path):
    n, covered, missed = _honest(run_pipeline(make_study(tmp_path / "s", seed=1)))
    assert covered > n / 2 and missed > n / 2
