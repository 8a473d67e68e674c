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
