"""`quietpoll estimate --list-experiment ... --treatment ...` and `--randomized-response ...`: rows with
statistic list_experiment / randomized_response in the estimate JSON (synthetic data)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(4)   # SYNTHETIC: 3 control items, the sensitive one held by 40%
    n = 600
    treat = rng.integers(0, 2, n)
    count = rng.binomial(3, 0.5, n) + treat * (rng.random(n) < 0.4)
    truth = rng.random(n) < 0.3
    spin = rng.random(n)
    answer = np.where(spin < 1 / 6, 1, np.where(spin < 2 / 6, 0, truth.astype(int)))
    path = tmp_path / "d.csv"
    pl.DataFrame({"count": count, "treat": treat, "rr": answer, "w": np.ones(n),
                  "region": rng.choice(["n", "s"], n)}).write_csv(path)
    return str(path)


def test_list_experiment_and_randomized_response(data, capsys):
    code = main(["estimate", data, "--weights", "w", "--list-experiment", "count", "--treatment", "treat",
                 "--randomized-response", "rr", "--rr-design", "forced", "--rr-p-truth", str(4 / 6),
                 "--rr-p-yes", str(1 / 6), "--by", "region", "--format", "json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["estimates"]
    le = [r for r in rows if r["statistic"] == "list_experiment"]
    rr = [r for r in rows if r["statistic"] == "randomized_response"]
    assert len(le) == 2 and len(rr) == 2 and {r["domain"]["region"] for r in le} == {"n", "s"}
    for r in le:
        assert r["variable"] == "count" and r["level"] is None and 0.0 < r["estimate"] < 0.9 and r["se"] > 0
    for r in rr:
        assert abs(r["estimate"] - 0.3) < 0.2 and r["ci_low"] < r["estimate"] < r["ci_high"]


def test_bad_sensitive_options(data, capsys):
    assert main(["estimate", data, "--list-experiment", "count"]) == 2
    assert "--treatment" in capsys.readouterr().err
    assert main(["estimate", data, "--randomized-response", "rr", "--rr-design", "warner", "--rr-p", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0.5" in err


def test_design_probabilities_outside_0_1_are_refused(data, capsys):
    for args in (["--rr-design", "forced", "--rr-p-truth", "1", "--rr-p-yes", "0"],
                 ["--rr-design", "warner", "--rr-p", "1.2"],
                 ["--rr-design", "unrelated", "--rr-p", "0", "--rr-p-unrelated", "0.5"]):
        assert main(["estimate", data, "--randomized-response", "rr", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "must be in (0, 1)" in err, err


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("quietpoll: error: ") and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


def test_ml_list_method_and_design_effect_test_json(data, capsys):
    code = main(["estimate", data, "--weights", "w", "--list-experiment", "count", "--treatment", "treat",
                 "--list-method", "ml", "--control-items", "3", "--design-effect-test", "--by", "region",
                 "--format", "json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["estimates"]
    assert [r["statistic"] for r in rows] == ["list_experiment"] * 2
    assert all(r["method"] == "ml" and 0 < r["estimate"] < 1 and r["se"] > 0 for r in rows)
    tests = out["design_effect_test"]
    assert [t["domain"] for t in tests] == [{"region": "n"}, {"region": "s"}]
    for t in tests:
        assert len(t["pi"]) == 8 and all(p["se"] >= 0 for p in t["pi"]) and 0 <= t["p_value"] <= 1
    # the default method is the difference in means, and no test key unless asked
    assert main(["estimate", data, "--weights", "w", "--list-experiment", "count", "--treatment", "treat",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["estimates"][0]["method"] == "diff" and "design_effect_test" not in out


def test_ml_with_replicate_design_and_readable_table(data, capsys):
    code = main(["estimate", data, "--weights", "w", "--rep-type", "bootstrap", "--replicates", "20", "--seed", "3",
                 "--list-experiment", "count", "--treatment", "treat", "--list-method", "ml",
                 "--design-effect-test", "--format", "table"])
    assert code == 0
    out = capsys.readouterr().out
    assert "list_experiment (ml)" in out and "design-effect test: count by treat" in out
    assert "pi(y = 0, z = 1)" in out and "Bonferroni-corrected p" in out


def test_csv_rows_name_the_list_estimator(data, capsys):
    assert main(["estimate", data, "--weights", "w", "--list-experiment", "count", "--treatment", "treat",
                 "--list-method", "ml", "--format", "csv"]) == 0
    out = pl.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert out["statistic"].to_list() == ["list_experiment"] and out["method"].to_list() == ["ml"]


@pytest.mark.parametrize("args,needles", [
    (["--design-effect-test"], ["--list-experiment"]),
    (["--list-method", "ml"], ["--list-experiment"]),
    (["--list-experiment", "count", "--treatment", "treat", "--design-effect-test", "--format", "csv"], ["csv"]),
    (["--list-experiment", "count", "--treatment", "treat", "--list-method", "ml", "--control-items", "2"],
     ["count", "above"]),
    (["--list-experiment", "half", "--treatment", "treat", "--list-method", "ml"], ["half", "whole numbers"]),
    (["--list-experiment", "count", "--treatment", "region", "--list-method", "ml"], ["region", "treated group"]),
    (["--list-experiment", "count", "--treatment", "t2", "--design-effect-test"], ["t2", "0 and 1"]),
    (["--list-experiment", "count", "--treatment", "treat", "--list-method", "ml", "--by", "arm"],
     ["no treated rows", "arm=n"]),
    (["--list-experiment", "count", "--treatment", "treat", "--list-method", "mle"], ["--list-method"]),
])
def test_bad_list_options(data, tmp_path, capsys, args, needles):
    frame = pl.read_csv(data).with_columns((pl.col("count") / 2).alias("half"), (pl.col("treat") * 2).alias("t2"),
                                           pl.when(pl.col("treat") == 1).then(pl.lit("x"))
                                           .otherwise(pl.col("region")).alias("arm"))
    path = tmp_path / "more.csv"
    frame.write_csv(path)
    assert main(["estimate", str(path), *args]) == 2
    one_line_error(capsys, *needles)


@pytest.mark.parametrize("args,needle", [
    (["--rr-design", "forced", "--rr-p-truth", "0", "--rr-p-yes", "0.2"], "p_truth must be in (0, 1)"),
    (["--rr-design", "forced", "--rr-p-truth", "-0.1", "--rr-p-yes", "0.2"], "p_truth must be in (0, 1)"),
    (["--rr-design", "forced", "--rr-p-truth", "0.7", "--rr-p-yes", "1"], "p_yes must be in [0, 1)"),
    (["--rr-design", "forced", "--rr-p-truth", "0.7", "--rr-p-yes", "0.4"], "at most 1"),
    (["--rr-design", "warner", "--rr-p", "0.5"], "unidentifiable"),
    (["--rr-design", "warner", "--rr-p", "0"], "p must be in (0, 1)"),
    (["--rr-design", "warner", "--rr-p", "1"], "p must be in (0, 1)"),
    (["--rr-design", "unrelated", "--rr-p", "0", "--rr-p-unrelated", "0.5"], "p must be in (0, 1)"),
    (["--rr-design", "unrelated", "--rr-p", "1.5", "--rr-p-unrelated", "0.5"], "p must be in (0, 1)"),
    (["--rr-design", "unrelated", "--rr-p", "0.6", "--rr-p-unrelated", "1.5"], "p_unrelated must be in [0, 1]"),
    (["--rr-design", "unrelated", "--rr-p", "0.6"], "p_unrelated is required"),
    (["--rr-design", "warner", "--rr-p", "0.7", "--rr-p-yes", "0.1"], "does not apply"),
])
def test_unidentifiable_or_out_of_range_rr_designs(data, capsys, args, needle):
    assert main(["estimate", data, "--randomized-response", "rr", *args]) == 2
    one_line_error(capsys, needle)
